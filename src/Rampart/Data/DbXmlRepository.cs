using System.Xml.Linq;
using Dapper;
using Microsoft.AspNetCore.DataProtection.Repositories;

namespace Rampart.Data;

/// <summary>
/// Data Protection's key ring in the <c>data_protection_keys</c> table, so every gateway instance on one PostgreSQL
/// database shares it. Data Protection calls this rarely (at start, then about once a day) and synchronously.
/// </summary>
internal sealed class DbXmlRepository(Db db, TimeProvider time) : IXmlRepository
{
    public IReadOnlyCollection<XElement> GetAllElements()
    {
        using var connection = db.Open();
        return [.. connection.Query<string>("SELECT xml FROM data_protection_keys ORDER BY created_at, id").Select(xml => XElement.Parse(xml))];
    }

    public void StoreElement(XElement element, string friendlyName)
    {
        using var connection = db.Open();
        connection.Execute(
            "INSERT INTO data_protection_keys (id, friendly_name, xml, created_at) VALUES (@Id, @FriendlyName, @Xml, @Now)",
            new { Id = Ids.New("dpk"), FriendlyName = friendlyName, Xml = element.ToString(SaveOptions.DisableFormatting), Now = time.GetUtcNow().ToUnixTimeMilliseconds() });
    }
}
