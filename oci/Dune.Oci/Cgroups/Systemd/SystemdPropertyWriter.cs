using Tmds.DBus.Protocol;

namespace Dune.Oci.Cgroups.Systemd;

/// <summary>Writes unit properties as the a(sv) array systemd's manager methods take.</summary>
internal static class SystemdPropertyWriter
{
    public static void Write(ref MessageWriter w, IReadOnlyList<SystemdProperty> properties)
    {
        var array = w.WriteArrayStart(DBusType.Struct);
        foreach (var p in properties)
        {
            w.WriteStructureStart();
            w.WriteString(p.Name);
            switch (p.Kind)
            {
                case SystemdValueKind.Bool:
                    w.WriteVariantBool((bool)p.Value);
                    break;
                case SystemdValueKind.String:
                    w.WriteVariantString((string)p.Value);
                    break;
                case SystemdValueKind.UInt64:
                    w.WriteVariantUInt64((ulong)p.Value);
                    break;
                case SystemdValueKind.UInt32Array:
                    w.WriteSignature("au");
                    w.WriteArray((uint[])p.Value);
                    break;
                case SystemdValueKind.Bytes:
                    w.WriteSignature("ay");
                    w.WriteArray((byte[])p.Value);
                    break;
                case SystemdValueKind.StringArray:
                    w.WriteSignature("as");
                    w.WriteArray((string[])p.Value);
                    break;
                case SystemdValueKind.DeviceAllowList:
                    w.WriteSignature("a(ss)");
                    var entries = w.WriteArrayStart(DBusType.Struct);
                    foreach (var (path, access) in (IReadOnlyList<(string Path, string Access)>)p.Value)
                    {
                        w.WriteStructureStart();
                        w.WriteString(path);
                        w.WriteString(access);
                    }
                    w.WriteArrayEnd(entries);
                    break;
                default:
                    throw new CgroupException($"unit property {p.Name}: unsupported value kind {p.Kind}");
            }
        }
        w.WriteArrayEnd(array);
    }
}
