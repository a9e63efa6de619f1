using System.Text;
using Dune.Interop;
using Tmds.Linux;
using Xunit;

namespace Dune.Oci.Tests.Interop;

/// <summary>The one Spawner: descriptors land where the mapping says, whatever their numbers.</summary>
public unsafe class SpawnerTests
{
    private static (int Read, int Write) Pipe()
    {
        int* fds = stackalloc int[2];
        Assert.Equal(0, LibC.pipe2(fds, LibC.O_CLOEXEC));
        return (fds[0], fds[1]);
    }

    private static string ReadAll(int fd)
    {
        var output = new MemoryStream();
        var buf = new byte[256];
        fixed (byte* b = buf)
        {
            long n;
            while ((n = LibC.read(fd, b, (size_t)buf.Length)) > 0) output.Write(buf, 0, (int)n);
        }
        LibC.close(fd);
        return Encoding.UTF8.GetString(output.ToArray());
    }

    private static int Run(string script, IReadOnlyList<(int Child, int Parent)> fds)
    {
        int pid = Spawner.Spawn("/bin/sh", ["sh", "-c", script], ["PATH=/usr/bin:/bin"], fds);
        int status;
        Assert.Equal(pid, NativeCalls.waitpid(pid, &status, 0));
        return status;
    }

    [Fact]
    public void A_descriptor_mapped_onto_its_own_number_stays_open_in_the_child()
    {
        // Close-on-exec in the parent: only the mapping keeps it open (the shell's own >&N only
        // takes one digit, hence /proc/self/fd).
        var (r, w) = Pipe();
        Assert.Equal(0, Run($"echo same > /proc/self/fd/{w}", [(w, w)]));
        LibC.close(w);
        Assert.Equal("same\n", ReadAll(r));
    }

    [Fact]
    public void Two_descriptors_swapped_reach_each_others_numbers()
    {
        var (r1, w1) = Pipe();
        var (r2, w2) = Pipe();
        // Child w1 <- parent w2 and child w2 <- parent w1: a naive dup2 in order would make
        // both child numbers the same pipe.
        Assert.Equal(0, Run($"echo to-w1 > /proc/self/fd/{w1}; echo to-w2 > /proc/self/fd/{w2}", [(w1, w2), (w2, w1)]));
        LibC.close(w1);
        LibC.close(w2);
        Assert.Equal("to-w2\n", ReadAll(r1));
        Assert.Equal("to-w1\n", ReadAll(r2));
    }

    [Fact]
    public void A_missing_program_is_a_NativeException_with_its_errno()
    {
        var e = Assert.Throws<NativeException>(() => Spawner.Spawn("/nonexistent/prog", ["prog"], [], []));
        Assert.Equal(LibC.ENOENT, e.Errno);
        Assert.StartsWith("cannot start /nonexistent/prog: ", e.Message);
    }
}
