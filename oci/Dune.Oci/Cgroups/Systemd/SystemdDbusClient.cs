using Dune.Interop;
using Tmds.Linux;
using System.Globalization;
using Tmds.DBus.Protocol;

namespace Dune.Oci.Cgroups.Systemd;

/// <summary>
/// systemd's manager (org.freedesktop.systemd1) over D-Bus with Tmds.DBus.Protocol. As root it
/// talks to systemd directly on its private socket /run/systemd/private (no dbus-daemon needed,
/// as runc does); otherwise on the system bus. Jobs are awaited through the JobRemoved signal.
/// </summary>
internal sealed class SystemdDbusClient : ISystemdClient
{
    private const string Service = "org.freedesktop.systemd1";
    private const string ObjectPath = "/org/freedesktop/systemd1";
    private const string Manager = "org.freedesktop.systemd1.Manager";

    /// <summary>How long a start or stop job may take (runc waits 30 s too).</summary>
    public static readonly TimeSpan JobTimeout = TimeSpan.FromSeconds(30);

    private readonly DBusConnection _connection;
    private readonly string _address;
    private readonly object _lock = new();
    // Jobs that ended (JobRemoved) and jobs being waited for, by object path.
    private readonly Dictionary<string, string> _ended = new(StringComparer.Ordinal);
    private readonly Dictionary<string, TaskCompletionSource<string>> _waiting = new(StringComparer.Ordinal);
    private IDisposable? _jobWatch;
    private int? _version;

    private SystemdDbusClient(DBusConnection connection, string address)
    {
        _connection = connection;
        _address = address;
    }

    /// <summary>The address the driver uses: the private socket as root, else $DBUS_SYSTEM_BUS_ADDRESS or the system bus socket.</summary>
    public static string DefaultAddress() =>
        Environment.GetEnvironmentVariable("DUNE_SYSTEMD_DBUS_ADDRESS") is { Length: > 0 } a ? a
        : LibC.geteuid() == 0 ? "unix:path=/run/systemd/private"
        : Environment.GetEnvironmentVariable("DBUS_SYSTEM_BUS_ADDRESS") is { Length: > 0 } s ? s
        : "unix:path=/run/dbus/system_bus_socket";

    public static SystemdDbusClient Connect() => Connect(DefaultAddress());

    public static SystemdDbusClient Connect(string address)
    {
        // systemd's own socket (no bus daemon) needs the handshake adjusted: see SystemdPrivateSocket.
        const string unixPath = "unix:path=";
        var connection = address.StartsWith(unixPath, StringComparison.Ordinal) && address.EndsWith("/systemd/private", StringComparison.Ordinal)
            ? new DBusConnection(new SystemdPrivateSocket(address.Substring(unixPath.Length)))
            : new DBusConnection(address);
        var client = new SystemdDbusClient(connection, address);
        try
        {
            Wait(connection.ConnectAsync().AsTask());
            var rule = new MatchRule { Type = MessageType.Signal, Interface = Manager, Member = "JobRemoved" };
            client._jobWatch = Wait(connection.AddMatchAsync(rule, ReadJobRemoved, client.OnJobRemoved,
                emitOnCapturedContext: false, ObserverFlags.None, null).AsTask());
            // Ask systemd to send its signals to this connection (needed on the private socket).
            Wait(connection.CallMethodAsync(client.Call("Subscribe", "").CreateMessage()));
        }
        catch (Exception e) when (e is not CgroupException)
        {
            connection.Dispose();
            throw new CgroupException($"cannot talk to systemd over D-Bus at {address}: {Describe(e)}", e);
        }
        return client;
    }

    public int Version => _version ??= ReadVersion();

    private int ReadVersion()
    {
        var w = _connection.GetMessageWriter();
        w.WriteMethodCallHeader(Service, ObjectPath, "org.freedesktop.DBus.Properties", "Get", "ss");
        w.WriteString(Manager);
        w.WriteString("Version");
        string text = Run("reading systemd's version", _connection.CallMethodAsync(w.CreateMessage(),
            (Message m, object? _) => m.GetBodyReader().ReadVariantValue().GetString(), null));
        return ParseVersion(text);
    }

    /// <summary>The leading number of systemd's version string ("v245.4-1.fc32", "252.38-1~deb12u1"); -1 when there is none.</summary>
    public static int ParseVersion(string text)
    {
        string s = text.TrimStart('"', 'v');
        int n = 0;
        while (n < s.Length && char.IsAsciiDigit(s[n])) n++;
        return n > 0 && int.TryParse(s.AsSpan(0, n), NumberStyles.None, CultureInfo.InvariantCulture, out int v) ? v : -1;
    }

    public void StartTransientUnit(string name, IReadOnlyList<SystemdProperty> properties)
    {
        string job;
        try { job = StartCall(name, properties); }
        catch (DBusErrorReplyException e) when (e.ErrorName == "org.freedesktop.systemd1.UnitExists")
        {
            // Maybe a failed leftover of an earlier container of the same name: let systemd forget it, once.
            ResetFailedUnit(name);
            try { job = StartCall(name, properties); }
            catch (DBusErrorReplyException again)
            {
                throw new CgroupException($"systemd refused to start unit {name}: {again.ErrorMessage} ({again.ErrorName})");
            }
        }
        catch (DBusErrorReplyException e)
        {
            throw new CgroupException($"systemd refused to start unit {name}: {e.ErrorMessage} ({e.ErrorName})");
        }
        string? result = WaitForJob(job);
        if (result == "done") return;
        ResetFailedUnit(name);
        throw new CgroupException(result is null
            ? $"timed out after {JobTimeout.TotalSeconds:0} s waiting for systemd to start unit {name}"
            : $"systemd could not start unit {name}: its start job ended \"{result}\"");
    }

    private string StartCall(string name, IReadOnlyList<SystemdProperty> properties)
    {
        var w = Call("StartTransientUnit", "ssa(sv)a(sa(sv))");
        w.WriteString(name);
        w.WriteString("replace");
        SystemdPropertyWriter.Write(ref w, properties);
        var aux = w.WriteArrayStart(DBusType.Struct);
        w.WriteArrayEnd(aux);
        return CallForJob(w.CreateMessage());
    }

    public void SetUnitProperties(string name, IReadOnlyList<SystemdProperty> properties)
    {
        var w = Call("SetUnitProperties", "sba(sv)");
        w.WriteString(name);
        w.WriteBool(true);
        SystemdPropertyWriter.Write(ref w, properties);
        try { Wait(_connection.CallMethodAsync(w.CreateMessage())); }
        catch (DBusErrorReplyException e)
        {
            throw new CgroupException($"systemd refused to set properties of unit {name} ({string.Join("; ", properties)}): {e.ErrorMessage} ({e.ErrorName})");
        }
        catch (Exception e) when (e is not CgroupException)
        {
            throw new CgroupException($"setting properties of unit {name} over D-Bus at {_address}: {Describe(e)}", e);
        }
    }

    public void StopUnit(string name)
    {
        var w = Call("StopUnit", "ss");
        w.WriteString(name);
        w.WriteString("replace");
        string job;
        try { job = CallForJob(w.CreateMessage()); }
        catch (DBusErrorReplyException e) when (e.ErrorName == "org.freedesktop.systemd1.NoSuchUnit")
        {
            return; // gone already: a scope ends by itself when its last process exits
        }
        catch (DBusErrorReplyException e)
        {
            throw new CgroupException($"systemd refused to stop unit {name}: {e.ErrorMessage} ({e.ErrorName})");
        }
        string? result = WaitForJob(job);
        ResetFailedUnit(name);
        if (result is null)
            throw new CgroupException($"timed out after {JobTimeout.TotalSeconds:0} s waiting for systemd to stop unit {name}");
        if (result != "done")
            RuntimeLog.Warn($"stopping systemd unit {name}: its stop job ended \"{result}\"");
    }

    public void ResetFailedUnit(string name)
    {
        var w = Call("ResetFailedUnit", "s");
        w.WriteString(name);
        try { Wait(_connection.CallMethodAsync(w.CreateMessage())); }
        catch (DBusErrorReplyException) { }
    }

    private MessageWriter Call(string method, string signature)
    {
        var w = _connection.GetMessageWriter();
        w.WriteMethodCallHeader(Service, ObjectPath, Manager, method, signature.Length == 0 ? null : signature);
        return w;
    }

    private string CallForJob(MessageBuffer message)
    {
        try
        {
            return Wait(_connection.CallMethodAsync(message, (Message m, object? _) => m.GetBodyReader().ReadObjectPathAsString(), null));
        }
        catch (Exception e) when (e is not (CgroupException or DBusErrorReplyException))
        {
            throw new CgroupException($"calling systemd over D-Bus at {_address}: {Describe(e)}", e);
        }
    }

    private T Run<T>(string what, Task<T> call)
    {
        try { return Wait(call); }
        catch (DBusErrorReplyException e) { throw new CgroupException($"{what}: {e.ErrorMessage} ({e.ErrorName})"); }
        catch (Exception e) when (e is not CgroupException)
        {
            throw new CgroupException($"{what} over D-Bus at {_address}: {Describe(e)}", e);
        }
    }

    // JobRemoved(u id, o job, s unit, s result)
    private static (string Job, string Result) ReadJobRemoved(Message m, object? _)
    {
        var r = m.GetBodyReader();
        r.ReadUInt32();
        string job = r.ReadObjectPathAsString();
        r.ReadString();
        return (job, r.ReadString());
    }

    private void OnJobRemoved(Notification<(string Job, string Result)> n)
    {
        if (!n.HasValue) return;
        var job = n.Value;
        lock (_lock)
        {
            if (_waiting.Remove(job.Job, out var tcs)) tcs.TrySetResult(job.Result);
            else _ended[job.Job] = job.Result;
        }
    }

    /// <summary>The job's result ("done", "failed", "canceled"...), or null when it did not end in time.</summary>
    private string? WaitForJob(string job)
    {
        TaskCompletionSource<string> tcs;
        lock (_lock)
        {
            if (_ended.Remove(job, out string? result)) return result;
            tcs = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
            _waiting[job] = tcs;
        }
        if (tcs.Task.Wait(JobTimeout)) return tcs.Task.Result;
        lock (_lock) _waiting.Remove(job);
        return null;
    }

    private static T Wait<T>(Task<T> task)
    {
        try { return task.GetAwaiter().GetResult(); }
        catch (AggregateException e) when (e.InnerException is not null) { throw e.InnerException; }
    }

    private static void Wait(Task task)
    {
        try { task.GetAwaiter().GetResult(); }
        catch (AggregateException e) when (e.InnerException is not null) { throw e.InnerException; }
    }

    private static string Describe(Exception e)
    {
        var inner = e;
        while (inner.InnerException is not null && inner.Message.Length == 0) inner = inner.InnerException;
        return inner.InnerException is { } cause && cause.Message != inner.Message ? $"{inner.Message} ({cause.Message})" : inner.Message;
    }

    public void Dispose()
    {
        _jobWatch?.Dispose();
        _connection.Dispose();
    }
}
