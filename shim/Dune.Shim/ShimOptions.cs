namespace Dune.Shim;

/// <summary>
/// The flags containerd passes to a runtime v2 shim (Go flag syntax: -name value,
/// -name=value, one or two dashes) and the action word (start, delete, serve).
/// </summary>
internal sealed class ShimOptions
{
    public string Namespace { get; private set; } = "default";
    public string Address { get; private set; } = "";
    public string PublishBinary { get; private set; } = "containerd";
    public string Id { get; private set; } = "";
    public string Bundle { get; private set; } = "";
    public bool Debug { get; private set; }
    public bool Version { get; private set; }
    public bool Info { get; private set; }
    public string Action { get; private set; } = "";
    public IReadOnlyList<string> Raw { get; private set; } = [];

    public static ShimOptions Parse(IReadOnlyList<string> args)
    {
        var o = new ShimOptions { Raw = args };
        for (int i = 0; i < args.Count; i++)
        {
            var arg = args[i];
            if (!arg.StartsWith('-') || arg == "-" || arg == "--")
            {
                if (o.Action.Length > 0) throw new ArgumentException($"unexpected argument '{arg}'");
                o.Action = arg;
                continue;
            }
            var name = arg.TrimStart('-');
            string? value = null;
            int eq = name.IndexOf('=');
            if (eq >= 0)
            {
                value = name[(eq + 1)..];
                name = name[..eq];
            }
            switch (name)
            {
                case "debug": o.Debug = value is null || value == "true"; continue;
                case "v": o.Version = true; continue;
                case "info": o.Info = true; continue;
            }
            if (value is null)
            {
                if (i + 1 >= args.Count) throw new ArgumentException($"flag -{name} needs a value");
                value = args[++i];
            }
            switch (name)
            {
                case "namespace": o.Namespace = value; break;
                case "address": o.Address = value; break;
                case "publish-binary": o.PublishBinary = value; break;
                case "id": o.Id = value; break;
                case "bundle": o.Bundle = value; break;
                default: break; // flags of newer containerd versions (e.g. -socket) are not needed here
            }
        }
        if (o.Bundle.Length == 0) o.Bundle = Directory.GetCurrentDirectory();
        return o;
    }
}
