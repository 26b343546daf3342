// Entry point of the orders API: a minimal API published Native AOT as an AWS Lambda
// custom-runtime executable (bootstrap). Run it as `bootstrap --urls http://127.0.0.1:PORT`.
using MyService;
using OrdersApi.Data;
using OrdersApi.Diagnostics;
using OrdersApi.Orders;
using OrdersApi.Payments;
using OrdersApi.Shipping;
using OrdersApi.Tenancy;

namespace OrdersApi;

public static class Program
{
    public static void Main(string[] args)
    {
        // What a Native AOT Lambda function should log once at startup, so that its
        // crash reports can be matched with the right bootstrap.dbg.
        Console.WriteLine($"build-id: {CrashReport.BuildId}");
        Console.WriteLine($"runtime: {CrashReport.Runtime}");

        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions
        {
            Args = args,
            // Fixed, so that no environment variable can turn on the developer exception page.
            EnvironmentName = Environments.Production,
        });
        // Framework logs (with ports and timings) go to stderr; stdout has only the lines above.
        builder.Logging.AddConsole(options => options.LogToStandardErrorThreshold = LogLevel.Trace);
        builder.Services.ConfigureHttpJsonOptions(options =>
            options.SerializerOptions.TypeInfoResolverChain.Insert(0, AppJsonContext.Default));

        builder.Services.AddSingleton<OrderDatabase>();
        builder.Services.AddSingleton<IOrderRepository, OrderRepository>();
        builder.Services.AddSingleton<OrderValidator>();
        builder.Services.AddScoped<OrderService>();
        builder.Services.AddSingleton<TenantDirectory>();
        builder.Services.AddSingleton<PaymentGatewayClient>();
        builder.Services.AddScoped<PaymentService>();
        builder.Services.AddSingleton<LabelPrinter>();

        var app = builder.Build();

        // Outermost: every exception of the pipeline below ends here.
        app.UseMiddleware<CrashReportMiddleware>();
        app.UseMiddleware<TenantMiddleware>();
        app.UseRouting();

        app.MapGet("/cases", () => CaseCatalog.ListText());
        app.MapGet("/cases/requests", () => CaseCatalog.RequestsText());
        OrderEndpoints.Map(app);
        app.MapGet("/tenants/{tenant}/orders", (string tenant) => TypedResults.Ok(new[] { tenant }));

        app.Run();
    }
}
