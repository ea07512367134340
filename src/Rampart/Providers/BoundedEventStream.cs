namespace Rampart.Providers;

/// <summary>
/// A provider's server-sent event stream, read through with one check: no event may grow beyond a size limit. .NET's
/// SSE parser keeps an event's lines in a buffer that grows for as long as the event lasts, so without this a provider
/// that never ends an event (a broken proxy, a hostile endpoint) could fill the gateway's memory one stream at a time.
/// An event ends at a blank line: two line breaks in a row (<c>\n\n</c>, <c>\r\r</c>, <c>\n\r</c>; <c>\r\n</c> alone is
/// one break). The check looks backwards from the end of each read for the last one, so it costs one vectorised search
/// per read in the usual case of reads that end with an event.
/// </summary>
internal sealed class BoundedEventStream(Stream inner, long maxEventBytes) : Stream
{
    public const long DefaultMaxEventBytes = 16 * 1024 * 1024;

    private long _inEvent;
    private byte _last;

    public override bool CanRead => true;

    public override bool CanSeek => false;

    public override bool CanWrite => false;

    public override long Length => throw new NotSupportedException();

    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        var read = await inner.ReadAsync(buffer, cancellationToken);
        Count(buffer.Span[..read]);
        return read;
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override int Read(Span<byte> buffer)
    {
        var read = inner.Read(buffer);
        Count(buffer[..read]);
        return read;
    }

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override void Flush()
    {
    }

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            inner.Dispose();
        }

        base.Dispose(disposing);
    }

    private void Count(ReadOnlySpan<byte> bytes)
    {
        if (bytes.IsEmpty)
        {
            return;
        }

        var end = bytes.Length;
        var boundary = -1;
        while (end > 0)
        {
            var i = bytes[..end].LastIndexOfAny((byte)'\n', (byte)'\r');
            if (i < 0)
            {
                break;
            }

            var before = i > 0 ? bytes[i - 1] : _last;
            if (before == '\n' || (before == '\r' && bytes[i] == '\r'))
            {
                boundary = i;
                break;
            }

            end = i;
        }

        _inEvent = boundary < 0 ? _inEvent + bytes.Length : bytes.Length - boundary - 1;
        _last = bytes[^1];
        if (_inEvent > maxEventBytes)
        {
            throw new EventTooLargeException(maxEventBytes);
        }
    }
}

/// <summary>A provider's stream event outgrew <see cref="BoundedEventStream"/>'s limit; the stream is abandoned.</summary>
internal sealed class EventTooLargeException(long maxEventBytes)
    : IOException($"a stream event exceeded {maxEventBytes / (1024 * 1024)} MB")
{
    public long MaxEventBytes { get; } = maxEventBytes;
}
