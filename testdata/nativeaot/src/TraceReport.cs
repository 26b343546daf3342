// The oracle: prints an exception exactly as the runtime formats it and, for every
// frame of it and of each inner exception, the code address the frame stands for.
using System.Diagnostics;
using System.Text;

namespace MyService;

public static class TraceReport
{
    /// <summary>
    /// Writes the report for one caught exception. Format (one item per line):
    /// <code>
    /// === Exception.ToString() ===
    /// ...verbatim...
    /// === frames ===
    /// exception PATH TYPE message="ESCAPED"
    /// stack-trace "ESCAPED"   (the exception's own StackTrace property)
    /// frame I rva=0xHEX|- file=PATH:LINE|- text="ESCAPED-FRAME-TEXT"
    /// === end ===
    /// </code>
    /// PATH is 0 for the exception itself, P.N for the N-th inner exception of P
    /// (InnerException is P.0; an AggregateException lists every one of its
    /// InnerExceptions). FRAME-TEXT is what StackTrace.ToString prints for that single
    /// frame without its final line break (it may hold a second line, the
    /// "--- End of stack trace from previous location ---" that follows the frame), and
    /// is empty for a frame the runtime hides. ESCAPED is the text with \ " and control
    /// characters escaped as in JSON. rva is "-" where the frame has no native image
    /// (under the JIT); file is "-" where the runtime knows no source file.
    /// </summary>
    public static void Write(TextWriter w, Exception ex)
    {
        w.WriteLine("=== Exception.ToString() ===");
        w.WriteLine(ex.ToString());
        w.WriteLine("=== frames ===");
        WriteTree(w, ex, "0");
        w.WriteLine("=== end ===");
    }

    static void WriteTree(TextWriter w, Exception ex, string path)
    {
        w.WriteLine($"exception {path} {ex.GetType().FullName} message=\"{Escape(ex.Message)}\"");
        w.WriteLine($"stack-trace \"{Escape(ex.StackTrace ?? "")}\"");
        StackFrame[] frames = new StackTrace(ex, fNeedFileInfo: true).GetFrames();
        for (int i = 0; i < frames.Length; i++)
        {
            StackFrame f = frames[i];
            string rva = f.HasNativeImage()
                ? "0x" + ((ulong)(f.GetNativeIP() - f.GetNativeImageBase())).ToString("x")
                : "-";
            string file = f.GetFileName() is { } name ? $"{name}:{f.GetFileLineNumber()}" : "-";
            string text = new StackTrace(f).ToString().TrimEnd('\r', '\n');
            w.WriteLine($"frame {i} rva={rva} file={file} text=\"{Escape(text)}\"");
        }

        IReadOnlyList<Exception> inner = ex switch
        {
            AggregateException agg => agg.InnerExceptions,
            { InnerException: { } one } => new[] { one },
            _ => Array.Empty<Exception>(),
        };
        for (int i = 0; i < inner.Count; i++)
            WriteTree(w, inner[i], $"{path}.{i}");
    }

    static string Escape(string s)
    {
        var sb = new StringBuilder(s.Length);
        foreach (char c in s)
        {
            switch (c)
            {
                case '\\': sb.Append("\\\\"); break;
                case '"': sb.Append("\\\""); break;
                case '\n': sb.Append("\\n"); break;
                case '\r': sb.Append("\\r"); break;
                case '\t': sb.Append("\\t"); break;
                default:
                    if (c < ' ') sb.Append($"\\u{(int)c:x4}"); else sb.Append(c);
                    break;
            }
        }
        return sb.ToString();
    }
}
