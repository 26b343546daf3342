// Entry point: prints the build ID, runs one scenario chosen by name and prints the
// oracle report for the exception it ends with. `app list` lists the scenarios.
namespace MyService;

public static class Program
{
    public static int Main(string[] args)
    {
        // What a Native AOT Lambda function should log once at startup.
        Console.WriteLine($"build-id: {BuildId.Read() ?? "unknown"}");
        Console.WriteLine($"runtime: {System.Runtime.InteropServices.RuntimeInformation.FrameworkDescription}");

        if (args.Length != 1 || args[0] == "list")
        {
            foreach (var s in Catalog.All)
                Console.WriteLine($"{s.Name}\t{s.Covers}");
            return args.Length == 1 ? 0 : 2;
        }

        Scenario? scenario = Catalog.Find(args[0]);
        if (scenario is null)
        {
            Console.Error.WriteLine($"unknown scenario '{args[0]}'; run 'app list' for the names");
            return 2;
        }

        Console.WriteLine($"scenario: {scenario.Name}");
        if (scenario.Unhandled)
        {
            // The runtime prints its own report to stderr and aborts; the oracle goes first.
            AppDomain.CurrentDomain.UnhandledException += (_, e) =>
            {
                TraceReport.Write(Console.Out, (Exception)e.ExceptionObject);
                Console.Out.Flush();
            };
            scenario.Run();
            return 1;
        }

        try
        {
            scenario.Run();
        }
        catch (Exception e)
        {
            TraceReport.Write(Console.Out, e);
            return 0;
        }
        Console.Error.WriteLine($"scenario '{scenario.Name}' did not throw");
        return 1;
    }
}
