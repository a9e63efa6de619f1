namespace Dune.Oci.Seccomp;

/// <summary>
/// On i386 the socket and System V IPC calls can also be made through the multiplexers
/// socketcall(call, args) and ipc(call, ...). libseccomp therefore turns a rule on, say,
/// <c>connect</c> into a second rule on socketcall with arg0 == SYS_CONNECT, keeping the
/// rule's other argument tests at their indexes (its arg0 test is replaced). We do the
/// same, so a profile that denies <c>connect</c> cannot be bypassed through socketcall and
/// filters agree with runc's.
/// </summary>
internal static class X86Multiplexers
{
    public const uint SocketcallNr = 102;
    public const uint IpcNr = 117;

    /// <summary>The multiplexer syscall and its call number for <paramref name="name"/>.</summary>
    public static bool TryGet(string name, out uint multiplexer, out uint call)
    {
        call = SocketCall(name);
        if (call != 0)
        {
            multiplexer = SocketcallNr;
            return true;
        }
        call = IpcCall(name);
        multiplexer = call != 0 ? IpcNr : 0;
        return call != 0;
    }

    // SYS_* from linux/net.h.
    private static uint SocketCall(string name) => name switch
    {
        "socket" => 1,
        "bind" => 2,
        "connect" => 3,
        "listen" => 4,
        "accept" => 5,
        "getsockname" => 6,
        "getpeername" => 7,
        "socketpair" => 8,
        "send" => 9,
        "recv" => 10,
        "sendto" => 11,
        "recvfrom" => 12,
        "shutdown" => 13,
        "setsockopt" => 14,
        "getsockopt" => 15,
        "sendmsg" => 16,
        "recvmsg" => 17,
        "accept4" => 18,
        "recvmmsg" => 19,
        "sendmmsg" => 20,
        _ => 0,
    };

    // ipc(2) call numbers from linux/ipc.h.
    private static uint IpcCall(string name) => name switch
    {
        "semop" => 1,
        "semget" => 2,
        "semctl" => 3,
        "semtimedop" => 4,
        "msgsnd" => 11,
        "msgrcv" => 12,
        "msgget" => 13,
        "msgctl" => 14,
        "shmat" => 21,
        "shmdt" => 22,
        "shmget" => 23,
        "shmctl" => 24,
        _ => 0,
    };

    /// <summary>The rule libseccomp adds on the multiplexer for a rule on a multiplexed call.</summary>
    public static SeccompRule Derive(SeccompRule rule, uint call)
    {
        var conditions = new List<ArgCondition> { new(0, ArgOp.Equal, call, 0) };
        conditions.AddRange(rule.Conditions.Where(c => c.Index != 0));
        return rule with { Conditions = conditions.ToArray() };
    }
}
