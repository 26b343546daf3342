// Reads the GNU build ID of the running executable, so that a Native AOT program
// can log it at startup and its crash reports can be matched with the right .dbg.
// Self-contained on purpose: copy this file into your own program.
using System.Buffers.Binary;

namespace MyService;

public static class BuildId
{
    const uint PT_NOTE = 4;
    const uint NT_GNU_BUILD_ID = 3;

    /// <summary>
    /// Returns the build ID of the ELF file at <paramref name="path"/> as lowercase hex
    /// (the form `readelf -n` and `file` print), or null when the file is not a 64-bit
    /// little-endian ELF file or has no NT_GNU_BUILD_ID note.
    /// </summary>
    public static string? Read(string path = "/proc/self/exe")
    {
        try
        {
            using var file = File.OpenRead(path);
            var header = new byte[64];
            file.ReadExactly(header);
            if (header[0] != 0x7f || header[1] != 'E' || header[2] != 'L' || header[3] != 'F'
                || header[4] != 2 /* ELFCLASS64 */ || header[5] != 1 /* little-endian */)
                return null;

            long phoff = BinaryPrimitives.ReadInt64LittleEndian(header.AsSpan(32));
            int phentsize = BinaryPrimitives.ReadUInt16LittleEndian(header.AsSpan(54));
            int phnum = BinaryPrimitives.ReadUInt16LittleEndian(header.AsSpan(56));
            var phdrs = new byte[phentsize * phnum];
            file.Position = phoff;
            file.ReadExactly(phdrs);

            for (int i = 0; i < phnum; i++)
            {
                var ph = phdrs.AsSpan(i * phentsize, phentsize);
                if (BinaryPrimitives.ReadUInt32LittleEndian(ph) != PT_NOTE)
                    continue;
                long offset = BinaryPrimitives.ReadInt64LittleEndian(ph.Slice(8));
                long size = BinaryPrimitives.ReadInt64LittleEndian(ph.Slice(32));
                int align = BinaryPrimitives.ReadInt64LittleEndian(ph.Slice(48)) == 8 ? 8 : 4;
                if (size <= 0 || size > 1 << 16)
                    continue;
                var notes = new byte[size];
                file.Position = offset;
                file.ReadExactly(notes);
                if (FindGnuBuildId(notes, align) is { } id)
                    return id;
            }
            return null;
        }
        catch (IOException)
        {
            return null;
        }
        catch (UnauthorizedAccessException)
        {
            return null;
        }
    }

    // A note is namesz, descsz, type (4 bytes each), then name and desc, each padded to the alignment.
    static string? FindGnuBuildId(ReadOnlySpan<byte> notes, int align)
    {
        while (notes.Length >= 12)
        {
            int namesz = (int)BinaryPrimitives.ReadUInt32LittleEndian(notes);
            int descsz = (int)BinaryPrimitives.ReadUInt32LittleEndian(notes.Slice(4));
            uint type = BinaryPrimitives.ReadUInt32LittleEndian(notes.Slice(8));
            int nameEnd = 12 + Align(namesz, align);
            int descEnd = nameEnd + Align(descsz, align);
            if (namesz < 0 || descsz < 0 || descEnd > notes.Length || descEnd < nameEnd)
                return null;
            if (type == NT_GNU_BUILD_ID && namesz == 4 && notes.Slice(12, 4).SequenceEqual("GNU\0"u8))
                return Convert.ToHexString(notes.Slice(nameEnd, descsz)).ToLowerInvariant();
            notes = notes.Slice(descEnd);
        }
        return null;
    }

    static int Align(int n, int align) => (n + align - 1) & ~(align - 1);
}
