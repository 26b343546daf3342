// Reliability: exception filters, catch and finally handlers that throw, throw
// helpers and a [StackTraceHidden] guard.
using System.Diagnostics;
using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;

namespace MyService.Reliability;

public sealed class TransientException : Exception
{
    public TransientException(string message, int attempt) : base(message) => Attempt = attempt;
    public int Attempt { get; }
}

public sealed class RetryPolicy
{
    int _cleanups;

    [MethodImpl(MethodImplOptions.NoInlining)]
    public void Run(int attempts)
    {
        try
        {
            Attempt(attempts);
        }
        catch (TransientException e) when (e.Attempt >= attempts)
        {
            throw new TimeoutException($"Gave up after {e.Attempt} attempts ({_cleanups} cleanups).", e);
        }
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    void Attempt(int attempts)
    {
        for (int attempt = 1; ; attempt++)
        {
            try
            {
                CallRemote(attempt);
                return;
            }
            catch (TransientException e) when (ShouldRetry(e, attempts))
            {
                // swallowed: try again
            }
        }
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    static bool ShouldRetry(TransientException e, int attempts) => e.Attempt < attempts;

    [MethodImpl(MethodImplOptions.NoInlining)]
    void CallRemote(int attempt)
    {
        try
        {
            throw new TransientException($"Remote call {attempt} failed.", attempt);
        }
        finally
        {
            _cleanups++;
        }
    }
}

public sealed class ConfigLoader
{
    [MethodImpl(MethodImplOptions.NoInlining)]
    public Dictionary<string, int> Load(string text)
    {
        try
        {
            return ParseAll(text);
        }
        catch (FormatException e)
        {
            throw new InvalidDataException($"Configuration '{text}' is invalid.", e);
        }
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    public Dictionary<string, int> LoadWithLock(string text)
    {
        var result = new Dictionary<string, int>();
        try
        {
            result = ParseAll(text);
            throw new InvalidOperationException("Configuration changed while loading.");
        }
        finally
        {
            ReleaseLock(text);
        }
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    static void ReleaseLock(string text) =>
        throw new IOException($"Lock for '{text}' was already released.");

    [MethodImpl(MethodImplOptions.NoInlining)]
    static Dictionary<string, int> ParseAll(string text)
    {
        var result = new Dictionary<string, int>();
        foreach (string pair in text.Split(';'))
        {
            string[] kv = pair.Split('=');
            result[kv[0]] = int.Parse(kv[1], System.Globalization.CultureInfo.InvariantCulture);
        }
        return result;
    }
}

public sealed class OrderLookup
{
    readonly Dictionary<int, string> _regions = new() { [1] = "eu" };

    [MethodImpl(MethodImplOptions.NoInlining)]
    public string Find(int orderId, string? region)
    {
        ArgumentNullException.ThrowIfNull(region);
        if (!_regions.TryGetValue(orderId, out string? found) || found != region)
            ThrowHelper.ThrowOrderNotFound(orderId, region);
        return found!;
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    public string FindGuarded(int orderId)
    {
        Guard(orderId);
        return Find(orderId, "eu");
    }

    // Hidden from stack traces, like the framework's own argument guards.
    [StackTraceHidden]
    [MethodImpl(MethodImplOptions.NoInlining)]
    static void Guard(int orderId) => CheckPositive(orderId);

    [MethodImpl(MethodImplOptions.NoInlining)]
    static void CheckPositive(int orderId) =>
        ArgumentOutOfRangeException.ThrowIfNegative(orderId);
}

internal static class ThrowHelper
{
    [DoesNotReturn]
    [MethodImpl(MethodImplOptions.NoInlining)]
    public static void ThrowOrderNotFound(int orderId, string region) =>
        throw new KeyNotFoundException($"Order {orderId} does not exist in region {region}.");
}
