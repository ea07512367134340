using System.Text;
using System.Text.Json;

namespace Rampart.Audit;

/// <summary>
/// Where audit records wait while the database cannot take them: an append-only JSON Lines file in the data folder.
/// The writer's appends are forced to disk before it goes on. A request that finds the queue full appends without
/// waiting for the disk (what it wrote survives the process; <see cref="SyncToDisk"/> makes it survive the machine, on
/// the writer's next round), because hundreds of requests each waiting for their own flush under one lock starve the
/// thread pool. For a replay the file is first renamed, so appends carry on into a fresh file while the renamed one is
/// read; it is deleted only once every record in it is stored.
/// </summary>
internal sealed class AuditSpool
{
    public const string FileName = "audit-spool.jsonl";
    private const string ReplayPattern = "audit-spool-*.replay.jsonl";

    private readonly Lock _lock = new();
    private readonly string _directory;
    private readonly string _active;
    private volatile bool _pending;
    private bool _unsynced;

    public AuditSpool(string directory)
    {
        _directory = directory;
        _active = Path.Combine(directory, FileName);
        Directory.CreateDirectory(directory);
        _pending = (File.Exists(_active) && new FileInfo(_active).Length > 0) || Directory.EnumerateFiles(directory, ReplayPattern).Any();
    }

    /// <summary>Whether any spooled record may still be waiting for the database.</summary>
    public bool HasPending => _pending;

    public void Append(IEnumerable<AuditRecord> records, bool flushToDisk = true)
    {
        lock (_lock)
        {
            using var file = new FileStream(_active, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.Read);
            if (file.Length > 0)
            {
                // A crash in the middle of an append leaves a partial last line; start on a new one so only that record is unreadable.
                file.Seek(-1, SeekOrigin.End);
                if (file.ReadByte() != '\n')
                {
                    file.WriteByte((byte)'\n');
                }
            }

            file.Seek(0, SeekOrigin.End);
            using (var json = new Utf8JsonWriter(file))
            {
                foreach (var record in records)
                {
                    JsonSerializer.Serialize(json, record, AuditJson.Default.AuditRecord);
                    json.Flush();
                    json.Reset();
                    file.WriteByte((byte)'\n');
                }
            }

            // A forced flush covers the file's earlier lines too.
            file.Flush(flushToDisk);
            _unsynced = !flushToDisk;
            _pending = true;
        }
    }

    /// <summary>Forces appends made without <c>flushToDisk</c> to disk.</summary>
    public void SyncToDisk()
    {
        lock (_lock)
        {
            SyncActiveFile();
        }
    }

    private void SyncActiveFile()
    {
        if (_unsynced && File.Exists(_active))
        {
            using var file = new FileStream(_active, FileMode.Open, FileAccess.Write, FileShare.ReadWrite);
            file.Flush(flushToDisk: true);
        }

        _unsynced = false;
    }

    /// <summary>The files to replay, oldest first: earlier replays that did not finish, then what is spooled now.</summary>
    public IReadOnlyList<string> TakeForReplay()
    {
        lock (_lock)
        {
            SyncActiveFile();
            if (File.Exists(_active))
            {
                var stamp = DateTime.UtcNow.Ticks.ToString("D19", System.Globalization.CultureInfo.InvariantCulture);
                File.Move(_active, Path.Combine(_directory, $"audit-spool-{stamp}-{Guid.NewGuid():N}.replay.jsonl"));
            }

            var files = Directory.EnumerateFiles(_directory, ReplayPattern).Order(StringComparer.Ordinal).ToList();
            _pending = files.Count > 0;
            return files;
        }
    }

    /// <summary>Reads a spool file's records in order, skipping lines that cannot be read (a torn last write).</summary>
    public static IEnumerable<AuditRecord> Read(string path, Action onUnreadable)
    {
        using var reader = new StreamReader(path, Encoding.UTF8);
        while (reader.ReadLine() is { } line)
        {
            if (line.Length == 0)
            {
                continue;
            }

            AuditRecord? record;
            try
            {
                record = JsonSerializer.Deserialize(line, AuditJson.Default.AuditRecord);
            }
            catch (JsonException)
            {
                record = null;
            }

            if (record is null)
            {
                onUnreadable();
                continue;
            }

            yield return record;
        }
    }

    public void Replayed(string path)
    {
        lock (_lock)
        {
            File.Delete(path);
            _pending = File.Exists(_active) || Directory.EnumerateFiles(_directory, ReplayPattern).Any();
        }
    }
}
