namespace Dune.Cli;

/// <summary>
/// Columns as runc's tabwriter lays them out (minimum width 12, padding 3, spaces): each
/// cell but the last of a row is padded to max(12, widest cell of its column + 3).
/// </summary>
internal static class TextTable
{
    private const int MinWidth = 12, Padding = 3;

    public static void Write(IReadOnlyList<string[]> rows)
    {
        if (rows.Count == 0) return;
        var widths = Enumerable.Range(0, rows[0].Length).Select(c => Math.Max(MinWidth, rows.Max(r => r[c].Length) + Padding)).ToArray();
        foreach (var row in rows)
            Console.WriteLine(string.Concat(row.Select((cell, c) => c == row.Length - 1 ? cell : cell.PadRight(widths[c]))));
    }
}
