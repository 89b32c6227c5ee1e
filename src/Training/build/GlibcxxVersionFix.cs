#nullable enable
// One copy of the ELF code behind the TorchSharp / older-libstdc++ fix, for both of its users: the
// build step in Microsoft.ML.Mask2Former.Training.targets (RoslynCodeTaskFactory compiles this file
// with the MarkElfVersionNeedWeak task below) and the Microsoft.ML.Mask2Former.Training library
// (compiled with MASK2FORMER_TRAINING, without the task), which applies the fix at run time where no
// build did (see Runtime/TorchSharpNativeLoader.cs).
using System;
using System.IO;
using System.Text;
#if !MASK2FORMER_TRAINING
using Microsoft.Build.Framework;
using Microsoft.Build.Utilities;
using Microsoft.ML.Mask2Former.Training.Runtime;
#endif

namespace Microsoft.ML.Mask2Former.Training.Runtime
{
    /// <summary>
    /// TorchSharp 0.107.0's libLibTorchSharp.so was linked with GCC 13 and asks for GLIBCXX_3.4.32,
    /// whose only symbol it uses is std::ios_base_library_init (never called). Hosts with an older
    /// libstdc++ (Debian 12 stops at GLIBCXX_3.4.30) refuse to load it. Marking that one requirement
    /// weak (VER_FLG_WEAK in the vna_flags of its Vernaux entry in .gnu.version_r) makes the dynamic
    /// loader tolerate its absence. The ELF is parsed, never patched at a fixed offset.
    /// </summary>
    internal static class GlibcxxVersionFix
    {
        /// <summary>The symbol version libLibTorchSharp.so asks for and older hosts lack.</summary>
        internal const string VersionName = "GLIBCXX_3.4.32";

        /// <summary>Where the host's libstdc++ lives on the common Linux layouts; the first that exists is the one the loader uses.</summary>
        internal static readonly string[] HostLibStdCxx =
        {
            "/usr/lib/x86_64-linux-gnu/libstdc++.so.6", "/lib/x86_64-linux-gnu/libstdc++.so.6", "/usr/lib/aarch64-linux-gnu/libstdc++.so.6",
            "/usr/lib64/libstdc++.so.6", "/lib64/libstdc++.so.6", "/usr/lib/libstdc++.so.6",
        };

        /// <summary>
        /// Whether the host's libstdc++ defines <see cref="VersionName"/> (then the library loads as
        /// shipped); <see langword="null"/> when no libstdc++ was found or it could not be read.
        /// </summary>
        internal static bool? HostProvidesVersion(out string? host)
        {
            host = null;
            foreach (var candidate in HostLibStdCxx)
            {
                if (!File.Exists(candidate)) continue;
                host = candidate;
                try
                {
                    return DefinesVersion(File.ReadAllBytes(candidate), VersionName);
                }
                catch (InvalidDataException)
                {
                    return null;
                }
            }
            return null;
        }

        private const uint ShtGnuVerdef = 0x6ffffffd;
        private const uint ShtGnuVerneed = 0x6ffffffe;
        private const ushort VerFlgWeak = 0x2;

        private struct Section
        {
            public uint Type;
            public long Offset;
            public long Size;
            public int Link;
            public int Info;
        }

        private static Section[] ReadSections(byte[] b)
        {
            if (b.Length < 64 || b[0] != 0x7f || b[1] != (byte)'E' || b[2] != (byte)'L' || b[3] != (byte)'F')
                throw new InvalidDataException("no ELF magic");
            if (b[4] != 2 || b[5] != 1) throw new InvalidDataException("not ELFCLASS64 / ELFDATA2LSB");
            long shoff = checked((long)U64(b, 0x28));
            int shentsize = U16(b, 0x3A);
            int shnum = U16(b, 0x3C);
            if (shentsize < 64 || shoff < 0 || shoff + (long)shentsize * shnum > b.Length)
                throw new InvalidDataException("section header table outside the file");
            var sections = new Section[shnum];
            for (int i = 0; i < shnum; i++)
            {
                long o = shoff + (long)i * shentsize;
                sections[i] = new Section
                {
                    Type = U32(b, o + 4),
                    Offset = checked((long)U64(b, o + 0x18)),
                    Size = checked((long)U64(b, o + 0x20)),
                    Link = (int)U32(b, o + 0x28),
                    Info = (int)U32(b, o + 0x2C),
                };
                if (sections[i].Type != 8 && (sections[i].Offset < 0 || sections[i].Offset + sections[i].Size > b.Length))
                    throw new InvalidDataException($"section {i} outside the file");
            }
            return sections;
        }

        private static string Str(byte[] b, Section strtab, long index)
        {
            long start = strtab.Offset + index;
            if (index < 0 || index >= strtab.Size) throw new InvalidDataException("string index outside its table");
            long end = start;
            while (end < strtab.Offset + strtab.Size && b[end] != 0) end++;
            return Encoding.ASCII.GetString(b, (int)start, (int)(end - start));
        }

        /// <summary>True when a SHT_GNU_verdef section of the ELF file <paramref name="b"/> defines the version <paramref name="name"/> (the host libstdc++ check).</summary>
        internal static bool DefinesVersion(byte[] b, string name)
        {
            var sections = ReadSections(b);
            foreach (var s in sections)
            {
                if (s.Type != ShtGnuVerdef) continue;
                if (s.Link <= 0 || s.Link >= sections.Length) throw new InvalidDataException("bad verdef link");
                var strtab = sections[s.Link];
                long o = s.Offset;
                for (int n = 0; n < Math.Max(1, s.Info) && o + 20 <= s.Offset + s.Size; n++)
                {
                    int cnt = U16(b, o + 6);
                    long aux = o + U32(b, o + 12);
                    for (int a = 0; a < cnt && aux + 8 <= s.Offset + s.Size; a++)
                    {
                        if (Str(b, strtab, U32(b, aux)) == name) return true;
                        uint nextAux = U32(b, aux + 4);
                        if (nextAux == 0) break;
                        aux += nextAux;
                    }
                    uint next = U32(b, o + 16);
                    if (next == 0) break;
                    o += next;
                }
            }
            return false;
        }

        /// <summary>
        /// Sets VER_FLG_WEAK on every Vernaux entry named <paramref name="name"/> in the ELF file
        /// <paramref name="b"/>: -1 when none is required, 0 when all were weak already, otherwise the
        /// number of entries changed.
        /// </summary>
        internal static int MarkWeak(byte[] b, string name)
        {
            var sections = ReadSections(b);
            int found = 0, changed = 0;
            foreach (var s in sections)
            {
                if (s.Type != ShtGnuVerneed) continue;
                if (s.Link <= 0 || s.Link >= sections.Length) throw new InvalidDataException("bad verneed link");
                var strtab = sections[s.Link];
                long o = s.Offset;
                for (int n = 0; n < Math.Max(1, s.Info) && o + 16 <= s.Offset + s.Size; n++)
                {
                    int cnt = U16(b, o + 2);
                    long aux = o + U32(b, o + 8);
                    for (int a = 0; a < cnt && aux + 16 <= s.Offset + s.Size; a++)
                    {
                        if (Str(b, strtab, U32(b, aux + 8)) == name)
                        {
                            found++;
                            ushort flags = U16(b, aux + 4);
                            if ((flags & VerFlgWeak) == 0)
                            {
                                flags |= VerFlgWeak;
                                b[aux + 4] = (byte)flags;
                                b[aux + 5] = (byte)(flags >> 8);
                                changed++;
                            }
                        }
                        uint nextAux = U32(b, aux + 12);
                        if (nextAux == 0) break;
                        aux += nextAux;
                    }
                    uint next = U32(b, o + 12);
                    if (next == 0) break;
                    o += next;
                }
            }
            return found == 0 ? -1 : changed;
        }

        private static ushort U16(byte[] b, long o) => (ushort)(b[o] | b[o + 1] << 8);
        private static uint U32(byte[] b, long o) => (uint)(b[o] | b[o + 1] << 8 | b[o + 2] << 16 | b[o + 3] << 24);
        private static ulong U64(byte[] b, long o) => U32(b, o) | (ulong)U32(b, o + 4) << 32;
    }
}

#if !MASK2FORMER_TRAINING
/// <summary>
/// The build step: after the copy to the output (and publish) folder, weakens the requirement in
/// the copies of libLibTorchSharp.so, unless the host's libstdc++ provides the version (or always,
/// with IgnoreHost, for a .NET tool package that runs on other hosts than the one that packed it).
/// </summary>
public sealed class MarkElfVersionNeedWeak : Task
{
    [Required] public ITaskItem[] Files { get; set; } = Array.Empty<ITaskItem>();
    public bool IgnoreHost { get; set; }

    public override bool Execute()
    {
        if (!IgnoreHost && GlibcxxVersionFix.HostProvidesVersion(out var host) == true)
        {
            Log.LogMessage(MessageImportance.Low, $"{host} provides {GlibcxxVersionFix.VersionName}: libLibTorchSharp.so left as shipped.");
            return true;
        }
        foreach (var item in Files)
        {
            var path = item.GetMetadata("FullPath");
            try
            {
                var bytes = File.ReadAllBytes(path);
                var changed = GlibcxxVersionFix.MarkWeak(bytes, GlibcxxVersionFix.VersionName);
                if (changed < 0)
                {
                    Log.LogMessage(MessageImportance.Low, $"{path} does not require {GlibcxxVersionFix.VersionName}.");
                    continue;
                }
                if (changed == 0)
                {
                    Log.LogMessage(MessageImportance.Low, $"{path}: {GlibcxxVersionFix.VersionName} is already weak.");
                    continue;
                }
                var stamp = File.GetLastWriteTimeUtc(path);
                var temp = path + ".elf-fix.tmp";
                File.WriteAllBytes(temp, bytes);
                // A rename, not an in-place write: the output copy may be a hard link into the package cache.
                File.Replace(temp, path, null);
                // Same size and time as the package's file, so incremental builds skip the copy (and this step).
                File.SetLastWriteTimeUtc(path, stamp);
                Log.LogMessage(MessageImportance.High, $"Marked the {GlibcxxVersionFix.VersionName} requirement of {path} weak ({(IgnoreHost ? "for any host" : "host libstdc++ lacks it")}).");
            }
            catch (InvalidDataException e)
            {
                Log.LogError($"Cannot patch {path}: not a valid ELF64 little-endian file ({e.Message}).");
            }
        }
        return !Log.HasLoggedErrors;
    }
}
#endif
