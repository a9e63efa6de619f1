using Dune.Interop;
using Tmds.Linux;
using System.Text.Json;
using Dune.Oci.Interop;
using Dune.Oci.Validation;

namespace Dune.Oci.State;

/// <summary>
/// The --root directory: one directory per container holding state.json and exec.fifo.
/// Commands on one id are serialised by flock on that directory.
/// </summary>
public sealed class StateStore
{
    public string Root { get; }

    public StateStore(string root) => Root = Path.GetFullPath(root);

    /// <summary>Where an id becomes a path, so every command refuses "../x" and "a/b" here.</summary>
    public string DirOf(string id)
    {
        ContainerId.Validate(id);
        return Path.Combine(Root, id);
    }
    public string StateFile(string id) => Path.Combine(DirOf(id), "state.json");
    public string ExecFifo(string id) => Path.Combine(DirOf(id), "exec.fifo");

    public bool Exists(string id) => File.Exists(StateFile(id));

    /// <summary>Makes the container's directory; fails if the id is taken (atomic: mkdir).</summary>
    public ContainerLock CreateDir(string id)
    {
        Directory.CreateDirectory(Root, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        if (PathCalls.Mkdir(DirOf(id), 0x1c0 /* 0700 */) != 0)
        {
            int e = NativeException.LastErrno;
            if (e == LibC.EEXIST) throw new RuntimeError($"container \"{id}\" already exists", LibC.EEXIST);
            throw RuntimeError.OfErrno($"cannot create state dir {DirOf(id)}", e);
        }
        var l = ContainerLock.Acquire(DirOf(id)) ?? throw new RuntimeError($"container \"{id}\" already exists", LibC.EEXIST);
        return l;
    }

    /// <summary>Locks an existing container; throws "does not exist" when it is not there.</summary>
    public ContainerLock Lock(string id)
    {
        var l = ContainerLock.Acquire(DirOf(id));
        if (l is null || !Exists(id))
        {
            l?.Dispose();
            throw new RuntimeError($"container \"{id}\" does not exist", LibC.ENOENT);
        }
        return l;
    }

    public ContainerRecord Load(string id)
    {
        try
        {
            var bytes = File.ReadAllBytes(StateFile(id));
            return JsonSerializer.Deserialize(bytes, StateJsonContext.Default.ContainerRecord)
                   ?? throw new RuntimeError($"state of container \"{id}\" is empty");
        }
        catch (FileNotFoundException) { throw new RuntimeError($"container \"{id}\" does not exist", LibC.ENOENT); }
        catch (DirectoryNotFoundException) { throw new RuntimeError($"container \"{id}\" does not exist", LibC.ENOENT); }
        catch (JsonException e) { throw new RuntimeError($"state of container \"{id}\" is corrupt: {e.Message}"); }
    }

    /// <summary>Writes state.json atomically (write + rename), so readers never see half a file.</summary>
    public void Save(ContainerRecord record)
    {
        var path = StateFile(record.Id);
        var tmp = path + ".tmp";
        File.WriteAllBytes(tmp, JsonSerializer.SerializeToUtf8Bytes(record, StateJsonContext.Default.ContainerRecord));
        File.Move(tmp, path, overwrite: true);
    }

    public void Remove(string id)
    {
        try { Directory.Delete(DirOf(id), recursive: true); }
        catch (DirectoryNotFoundException) { }
    }

    public IEnumerable<string> Ids()
    {
        if (!Directory.Exists(Root)) return Enumerable.Empty<string>();
        return Directory.EnumerateDirectories(Root).Select(Path.GetFileName).OfType<string>()
            .Where(id => ContainerId.IsValid(id) && Exists(id)).OrderBy(s => s, StringComparer.Ordinal);
    }
}

/// <summary>An exclusive flock on a container's state directory.</summary>
public sealed class ContainerLock : IDisposable
{
    private int _fd;

    private ContainerLock(int fd) => _fd = fd;

    public static ContainerLock? Acquire(string dir)
    {
        int fd = PathCalls.Open(dir, LibC.O_RDONLY | LibC.O_CLOEXEC | 0x10000 /* O_DIRECTORY */, 0);
        if (fd < 0) return null;
        while (NativeCalls.flock(fd, NativeCalls.LOCK_EX) != 0)
        {
            if (NativeException.LastErrno == LibC.EINTR) continue;
            LibC.close(fd);
            return null;
        }
        return new ContainerLock(fd);
    }

    public void Dispose()
    {
        if (_fd >= 0) { LibC.close(_fd); _fd = -1; }
    }
}
