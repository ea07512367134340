using System.Net;
using System.Net.Sockets;

namespace Rampart.Tests.Infrastructure;

internal static class LoopbackPorts
{
    /// <summary>A loopback port free a moment ago, for a process that must be told its port before it starts.</summary>
    public static int Free()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
