namespace Dune.Cli;

/// <summary>Left-aligned columns separated by at least one space (like runc's tabwriter output).</summary>
internal static class TextTable
{
    public static void Write(IReadOnlyList<string[]> rows)
    {
        if (rows.Count == 0) return;
        var widths = Enumerable.Range(0, rows[0].Length).Select(c => rows.Max(r => r[c].Length)).ToArray();
        foreach (var row in rows)
            Console.WriteLine(string.Join(" ", row.Select((cell, c) => c == row.Length - 1 ? cell : cell.PadRight(widths[c] + 1))).TrimEnd());
    }
}
