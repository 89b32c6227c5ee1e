using System.IO.Compression;
using System.Text;

namespace Microsoft.ML.Mask2Former.Training.Tests.VitAdapter;

/// <summary>
/// Writes pickle opcodes byte by byte (protocol 2 and 4), and wraps them in a <c>torch.save</c>-style
/// zip archive, so the tests can build hostile or malformed checkpoints without Python.
/// </summary>
internal sealed class PickleBuilder
{
    private readonly MemoryStream _bytes = new();

    public PickleBuilder(byte protocol = 2) => Op(0x80, protocol);

    public PickleBuilder Op(params byte[] bytes)
    {
        _bytes.Write(bytes);
        return this;
    }

    public PickleBuilder Char(char c) => Op((byte)c);

    public PickleBuilder Global(string module, string name) => Char('c').Op(Encoding.ASCII.GetBytes($"{module}\n{name}\n"));

    public PickleBuilder Str(string s)
    {
        var utf8 = Encoding.UTF8.GetBytes(s);
        Char('X').Op(BitConverter.GetBytes(utf8.Length));
        return Op(utf8);
    }

    public PickleBuilder Int(int value) => Char('J').Op(BitConverter.GetBytes(value));

    public PickleBuilder Mark() => Char('(');

    public PickleBuilder Tuple() => Char('t');

    public PickleBuilder EmptyDict() => Char('}');

    public PickleBuilder SetItems() => Char('u');

    public PickleBuilder Reduce() => Char('R');

    public PickleBuilder Stop() => Char('.');

    /// <summary>A tensor rebuild: <c>_rebuild_tensor_v2(storage('key', FloatStorage, numel), offset, size, stride, False, OrderedDict())</c>.</summary>
    public PickleBuilder Tensor(string key, int numel, int offset, int[] size, int[] stride, string storageType = "FloatStorage")
    {
        Global("torch._utils", "_rebuild_tensor_v2").Mark();
        Mark().Str("storage").Global("torch", storageType).Str(key).Str("cpu").Int(numel).Tuple().Char('Q');
        Int(offset);
        Mark();
        foreach (var s in size) Int(s);
        Tuple().Mark();
        foreach (var s in stride) Int(s);
        Tuple();
        Op(0x89); // False
        Global("collections", "OrderedDict").Op((byte)')').Reduce();
        return Tuple().Reduce();
    }

    public byte[] ToArray() => _bytes.ToArray();

    /// <summary>A zip archive laid out as torch.save writes it: archive/data.pkl, archive/data/KEY, archive/version.</summary>
    public static string WriteArchive(byte[] pickle, IReadOnlyDictionary<string, byte[]>? storages = null, string? folder = null)
    {
        var path = Path.Combine(folder ?? TestPaths.NewTempFolder(), "model.pth");
        using (var zip = new ZipArchive(File.Create(path), ZipArchiveMode.Create))
        {
            void Add(string name, byte[] bytes)
            {
                using var s = zip.CreateEntry(name, CompressionLevel.NoCompression).Open();
                s.Write(bytes);
            }
            Add("archive/data.pkl", pickle);
            foreach (var (key, bytes) in storages ?? new Dictionary<string, byte[]>()) Add("archive/data/" + key, bytes);
            Add("archive/version", Encoding.ASCII.GetBytes("3\n"));
        }
        return path;
    }
}
