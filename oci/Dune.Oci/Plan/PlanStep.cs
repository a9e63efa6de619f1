using System.Buffers.Binary;
using System.Text;

namespace Dune.Oci.Plan;

/// <summary>One step of the setup plan: an op and its arguments (byte strings or u64s).</summary>
public sealed class PlanStep
{
    public PlanOp Op { get; }
    public IReadOnlyList<byte[]> Args { get; }

    private readonly object[] _given; // for ToString only: formatted when --debug asks

    public PlanStep(PlanOp op, params object[] args)
    {
        Op = op;
        Args = args.Select(Encode).ToList();
        _given = args;
    }

    private static string Display(object arg) => arg switch
    {
        string s => $"\"{s}\"",
        byte[] b => $"<{b.Length} bytes>",
        ulong u => u >= 0x1000 ? $"0x{u:x}" : u.ToString(),
        _ => arg.ToString() ?? "",
    };

    private static byte[] Encode(object arg) => arg switch
    {
        string s => Encoding.UTF8.GetBytes(s),
        byte[] b => b,
        ulong u => U64(u),
        long l => U64(unchecked((ulong)l)),
        int i => U64(unchecked((ulong)(long)i)),
        uint u => U64(u),
        _ => throw new ArgumentException($"unsupported plan argument type {arg.GetType().Name}"),
    };

    private static byte[] U64(ulong v)
    {
        var b = new byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(b, v);
        return b;
    }

    public string StringArg(int i) => Encoding.UTF8.GetString(Args[i]);
    public ulong U64Arg(int i) => BinaryPrimitives.ReadUInt64LittleEndian(Args[i]);

    /// <summary>The step as a person reads it (--debug logs the plan).</summary>
    public override string ToString() => $"{Op}({string.Join(", ", _given.Select(Display))})";
}
