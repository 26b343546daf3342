// The outermost middleware: turns any exception of the pipeline into a 500 answer whose
// body is the crash report (what a Lambda function would log), named after the case
// the request belongs to.
namespace OrdersApi.Diagnostics;

public sealed class CrashReportMiddleware
{
    readonly RequestDelegate _next;

    public CrashReportMiddleware(RequestDelegate next) => _next = next;

    public async Task InvokeAsync(HttpContext context)
    {
        try
        {
            await _next(context);
        }
        catch (Exception ex) when (!context.Response.HasStarted)
        {
            string scenario = CaseCatalog.Find(context.Request.Method, context.Request.Path.Value ?? "")?.Name
                ?? "unknown";
            context.Response.Clear();
            context.Response.StatusCode = StatusCodes.Status500InternalServerError;
            context.Response.ContentType = "text/plain; charset=utf-8";
            await context.Response.WriteAsync(CrashReport.For(scenario, ex));
        }
    }
}
