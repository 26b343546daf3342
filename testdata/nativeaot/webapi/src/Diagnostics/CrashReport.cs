// The crash report: the same text the scenario program prints for a scenario, so that
// tools/aotcases.py reads both alike.
using System.Runtime.InteropServices;
using System.Text;
using MyService;

namespace OrdersApi.Diagnostics;

public static class CrashReport
{
    public static readonly string BuildId = MyService.BuildId.Read() ?? "unknown";
    public static readonly string Runtime = RuntimeInformation.FrameworkDescription;

    public static string Header() => $"build-id: {BuildId}\nruntime: {Runtime}\n";

    public static string For(string scenario, Exception exception)
    {
        var w = new StringWriter(new StringBuilder()) { NewLine = "\n" };
        w.Write(Header());
        w.WriteLine($"scenario: {scenario}");
        TraceReport.Write(w, exception);
        return w.ToString();
    }
}
