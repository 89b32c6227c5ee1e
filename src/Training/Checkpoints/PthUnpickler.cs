using System.Buffers.Binary;
using System.Globalization;
using System.Text;

namespace Microsoft.ML.Mask2Former.Training.Checkpoints;

/// <summary>
/// A pickle reader that executes nothing. It interprets the opcodes <c>torch.save</c> writes
/// (protocols 2-5) on a stack of plain values, and allows exactly these globals: the tensor
/// rebuilds (<c>torch._utils._rebuild_tensor_v2</c>, <c>_rebuild_tensor</c>,
/// <c>_rebuild_parameter</c>, <c>_rebuild_parameter_with_state</c>), the storage classes
/// (<c>torch.FloatStorage</c> …, only as persistent ids), <c>collections.OrderedDict</c> and
/// <c>torch.Size</c>. Every call is our own code for that global; any other global (for example
/// <c>posix.system</c> or <c>builtins.eval</c>) is refused where the pickle names it, before
/// anything could call it, and so are the opcodes that build arbitrary objects
/// (<c>INST</c>, <c>OBJ</c>, <c>NEWOBJ_EX</c>, extension codes).
/// </summary>
internal sealed class PthUnpickler
{
    private static readonly HashSet<string> TensorRebuilds = new(StringComparer.Ordinal)
    {
        "torch._utils._rebuild_tensor_v2", "torch._utils._rebuild_tensor",
        "torch._utils._rebuild_parameter", "torch._utils._rebuild_parameter_with_state",
    };

    /// <summary>The storage classes torch pickles in persistent ids, with their element types.</summary>
    internal static readonly IReadOnlyDictionary<string, SafeTensorsElementType> StorageTypes = new Dictionary<string, SafeTensorsElementType>(StringComparer.Ordinal)
    {
        ["torch.DoubleStorage"] = SafeTensorsElementType.F64,
        ["torch.FloatStorage"] = SafeTensorsElementType.F32,
        ["torch.HalfStorage"] = SafeTensorsElementType.F16,
        ["torch.BFloat16Storage"] = SafeTensorsElementType.BF16,
        ["torch.LongStorage"] = SafeTensorsElementType.I64,
        ["torch.IntStorage"] = SafeTensorsElementType.I32,
        ["torch.ShortStorage"] = SafeTensorsElementType.I16,
        ["torch.CharStorage"] = SafeTensorsElementType.I8,
        ["torch.ByteStorage"] = SafeTensorsElementType.U8,
        ["torch.BoolStorage"] = SafeTensorsElementType.Bool,
    };

    /// <summary>A global the pickle named (allowed ones only; nothing is resolved or imported).</summary>
    internal sealed record Global(string Name);

    private sealed class Mark
    {
        public static readonly Mark Instance = new();
    }

    private readonly byte[] _data;
    private readonly string _filePath;
    private readonly Func<PickleTuple, object> _persistentLoad;
    private readonly List<object?> _stack = new();
    private readonly Dictionary<long, object?> _memo = new();
    private int _position;

    private PthUnpickler(byte[] data, string filePath, Func<PickleTuple, object> persistentLoad)
    {
        _data = data;
        _filePath = filePath;
        _persistentLoad = persistentLoad;
    }

    /// <summary>Reads the object a pickle describes.</summary>
    /// <param name="data">The pickle bytes (<c>data.pkl</c>).</param>
    /// <param name="filePath">The archive, for messages.</param>
    /// <param name="persistentLoad">Turns a persistent id (<c>('storage', type, key, location, numel)</c>) into a storage.</param>
    /// <exception cref="DataFormatException">A refused global or opcode, or a malformed pickle; the message names it.</exception>
    public static object? Load(byte[] data, string filePath, Func<PickleTuple, object> persistentLoad) =>
        new PthUnpickler(data, filePath, persistentLoad).Run();

    private object? Run()
    {
        while (true)
        {
            var at = _position;
            var op = ReadByte();
            switch (op)
            {
                case 0x80: ReadByte(); break; // PROTO
                case 0x95: Read(8); break; // FRAME: a length hint only
                case (byte)'.': // STOP
                    if (_stack.Count != 1) throw Bad($"ends with {_stack.Count} values on the stack instead of 1", at);
                    return Unmark(Pop(at), at);
                case (byte)'(': _stack.Add(Mark.Instance); break;
                case (byte)'}': _stack.Add(new PickleDict()); break;
                case (byte)']': _stack.Add(new List<object?>()); break;
                case (byte)')': _stack.Add(PickleTuple.Empty); break;
                case (byte)'N': _stack.Add(null); break;
                case 0x88: _stack.Add(true); break; // NEWTRUE
                case 0x89: _stack.Add(false); break; // NEWFALSE
                case (byte)'J': _stack.Add((long)BinaryPrimitives.ReadInt32LittleEndian(Read(4))); break; // BININT
                case (byte)'K': _stack.Add((long)ReadByte()); break; // BININT1
                case (byte)'M': _stack.Add((long)BinaryPrimitives.ReadUInt16LittleEndian(Read(2))); break; // BININT2
                case 0x8a: _stack.Add(ReadLong(ReadByte(), at)); break; // LONG1
                case 0x8b: _stack.Add(ReadLong(ReadLength(4, at), at)); break; // LONG4
                case (byte)'I': _stack.Add(ParseIntLine(ReadLine(at), at)); break; // INT
                case (byte)'L': _stack.Add(ParseIntLine(ReadLine(at).TrimEnd('L'), at)); break; // LONG
                case (byte)'G': _stack.Add(BinaryPrimitives.ReadDoubleBigEndian(Read(8))); break; // BINFLOAT
                case (byte)'F': _stack.Add(ParseFloatLine(ReadLine(at), at)); break; // FLOAT
                case (byte)'X': _stack.Add(ReadUtf8(ReadLength(4, at), at)); break; // BINUNICODE
                case 0x8c: _stack.Add(ReadUtf8(ReadByte(), at)); break; // SHORT_BINUNICODE
                case 0x8d: _stack.Add(ReadUtf8(ReadLength(8, at), at)); break; // BINUNICODE8
                case (byte)'T': _stack.Add(Encoding.Latin1.GetString(Read(ReadLength(4, at)))); break; // BINSTRING (Python 2 str)
                case (byte)'U': _stack.Add(Encoding.Latin1.GetString(Read(ReadByte()))); break; // SHORT_BINSTRING
                case (byte)'B': _stack.Add(Read(ReadLength(4, at)).ToArray()); break; // BINBYTES
                case (byte)'C': _stack.Add(Read(ReadByte()).ToArray()); break; // SHORT_BINBYTES
                case 0x8e: _stack.Add(Read(ReadLength(8, at)).ToArray()); break; // BINBYTES8
                case (byte)'q': _memo[ReadByte()] = Peek(at); break; // BINPUT
                case (byte)'r': _memo[BinaryPrimitives.ReadUInt32LittleEndian(Read(4))] = Peek(at); break; // LONG_BINPUT
                case (byte)'p': _memo[ParseIntLine(ReadLine(at), at)] = Peek(at); break; // PUT
                case 0x94: _memo[_memo.Count] = Peek(at); break; // MEMOIZE
                case (byte)'h': _stack.Add(Recall(ReadByte(), at)); break; // BINGET
                case (byte)'j': _stack.Add(Recall(BinaryPrimitives.ReadUInt32LittleEndian(Read(4)), at)); break; // LONG_BINGET
                case (byte)'g': _stack.Add(Recall(ParseIntLine(ReadLine(at), at), at)); break; // GET
                case (byte)'0': Pop(at); break; // POP
                case (byte)'1': PopMark(at); break; // POP_MARK
                case (byte)'2': _stack.Add(Peek(at)); break; // DUP
                case (byte)'t': _stack.Add(new PickleTuple(PopMark(at).ToArray())); break; // TUPLE
                case 0x85: _stack.Add(new PickleTuple(PopN(1, at))); break; // TUPLE1
                case 0x86: _stack.Add(new PickleTuple(PopN(2, at))); break; // TUPLE2
                case 0x87: _stack.Add(new PickleTuple(PopN(3, at))); break; // TUPLE3
                case (byte)'l': _stack.Add(PopMark(at)); break; // LIST
                case (byte)'d': _stack.Add(DictFrom(PopMark(at), at)); break; // DICT
                case (byte)'a': Append(at, Pop(at)); break; // APPEND
                case (byte)'e': Append(at, PopMark(at).ToArray()); break; // APPENDS
                case (byte)'s': // SETITEM
                {
                    var value = Pop(at);
                    var key = Pop(at);
                    SetItems(at, new[] { key, value });
                    break;
                }
                case (byte)'u': SetItems(at, PopMark(at).ToArray()); break; // SETITEMS
                case (byte)'c': // GLOBAL module\nname\n
                {
                    var module = ReadLine(at);
                    var name = ReadLine(at);
                    _stack.Add(Allow(module, name, at));
                    break;
                }
                case 0x93: // STACK_GLOBAL
                {
                    var name = Pop(at) as string ?? throw Bad("STACK_GLOBAL needs a string name", at);
                    var module = Pop(at) as string ?? throw Bad("STACK_GLOBAL needs a string module", at);
                    _stack.Add(Allow(module, name, at));
                    break;
                }
                case (byte)'Q': // BINPERSID
                {
                    var pid = Pop(at) as PickleTuple ?? throw Bad("a persistent id must be a tuple", at);
                    _stack.Add(_persistentLoad(pid));
                    break;
                }
                case (byte)'R': // REDUCE
                {
                    var args = Pop(at) as PickleTuple ?? throw Bad("REDUCE arguments must be a tuple", at);
                    var callable = Pop(at);
                    _stack.Add(Call(callable, args, at));
                    break;
                }
                case 0x81: // NEWOBJ: cls.__new__(cls, *args); only an empty OrderedDict is allowed
                {
                    var args = Pop(at) as PickleTuple ?? throw Bad("NEWOBJ arguments must be a tuple", at);
                    var cls = Pop(at);
                    if (cls is Global { Name: "collections.OrderedDict" } && args.Count == 0) _stack.Add(new PickleDict());
                    else throw Bad($"NEWOBJ of {Describe(cls)} is not allowed (only collections.OrderedDict)", at);
                    break;
                }
                case (byte)'b': // BUILD: only attributes set on a dict (an OrderedDict's _metadata)
                {
                    var state = Pop(at);
                    var target = Peek(at);
                    if (target is not PickleDict dict || state is not PickleDict attributes)
                        throw Bad($"BUILD with state {Describe(state)} on {Describe(target)} is not allowed (only attributes of an OrderedDict)", at);
                    foreach (var (name, value) in attributes.Items)
                        dict.SetAttribute(name as string ?? throw Bad("BUILD attribute names must be strings", at), value);
                    break;
                }
                case (byte)'i':
                {
                    var module = ReadLine(at);
                    var name = ReadLine(at);
                    throw Refused($"{module}.{name}", at, "INST");
                }
                case (byte)'o': throw Bad("the OBJ opcode (instantiating a pickled class) is not allowed", at);
                case 0x92: throw Bad("the NEWOBJ_EX opcode (instantiating a pickled class) is not allowed", at);
                case 0x82 or 0x83 or 0x84: throw Bad("extension-registry globals (EXT1/EXT2/EXT4) are not allowed", at);
                case (byte)'P': throw Bad("text persistent ids (PERSID) are not used by torch.save and are not allowed", at);
                default: throw Bad($"unknown or unsupported opcode 0x{op:x2}", at);
            }
        }
    }

    /// <summary>Checks a named global against the allow-list; nothing is imported or resolved.</summary>
    private Global Allow(string module, string name, int at)
    {
        var full = $"{module}.{name}";
        if (TensorRebuilds.Contains(full) || StorageTypes.ContainsKey(full) || full is "collections.OrderedDict" or "torch.Size")
            return new Global(full);
        throw Refused(full, at, "GLOBAL");
    }

    private DataFormatException Refused(string global, int at, string opcode) =>
        new($"the pickle names the global '{global}' ({opcode} at byte {at} of data.pkl), which is refused without being run: " +
            "only tensor rebuilds (torch._utils._rebuild_tensor_v2, _rebuild_parameter), storage types, collections.OrderedDict, torch.Size and plain values are allowed", _filePath);

    /// <summary>Our own implementation of each allowed callable.</summary>
    private object Call(object? callable, PickleTuple args, int at)
    {
        if (callable is not Global global) throw Bad($"REDUCE calls {Describe(callable)}, which is not an allowed global", at);
        switch (global.Name)
        {
            case "collections.OrderedDict":
            {
                var dict = new PickleDict();
                if (args.Count == 0) return dict;
                if (args.Count == 1 && args[0] is IEnumerable<object?> pairs)
                {
                    foreach (var pair in pairs)
                    {
                        if (pair is not PickleTuple { Count: 2 } kv) throw Bad("OrderedDict items must be (key, value) pairs", at);
                        dict.Set(Key(kv[0], at), kv[1]);
                    }
                    return dict;
                }
                throw Bad($"OrderedDict called with {args.Count} arguments", at);
            }
            case "torch.Size":
                if (args.Count == 1 && args[0] is PickleTuple sizes) return sizes;
                throw Bad("torch.Size expects one tuple", at);
            case "torch._utils._rebuild_tensor_v2" or "torch._utils._rebuild_tensor":
            {
                var v2 = global.Name.EndsWith("_v2", StringComparison.Ordinal);
                if (v2 ? args.Count is < 6 or > 7 : args.Count != 4) throw Bad($"{global.Name} called with {args.Count} arguments", at);
                var storage = args[0] as PthStorage ?? throw Bad($"{global.Name} needs a storage (persistent id), got {Describe(args[0])}", at);
                var offset = args[1] as long? ?? throw Bad($"{global.Name}: the storage offset is {Describe(args[1])}, not an integer", at);
                var shape = Longs(args[2], "size", global.Name, at);
                var stride = Longs(args[3], "stride", global.Name, at);
                var requiresGrad = v2 && args[4] is true;
                if (v2 && args[5] is PickleDict { Count: > 0 }) throw Bad("tensors with backward hooks are not allowed", at);
                return new PthTensorInfo(storage, offset, shape, stride, requiresGrad);
            }
            case "torch._utils._rebuild_parameter" or "torch._utils._rebuild_parameter_with_state":
            {
                if (args.Count < 3 || args[0] is not PthTensorInfo data) throw Bad($"{global.Name} needs a tensor", at);
                if (args[2] is PickleDict { Count: > 0 }) throw Bad("parameters with backward hooks are not allowed", at);
                return new PthTensorInfo(data.Storage, data.StorageOffset, data.Shape.ToArray(), data.Stride.ToArray(), args[1] is true);
            }
            default:
                // Storage classes are allowed inside persistent ids only.
                throw Bad($"REDUCE calls {global.Name}, which may only appear inside a persistent id", at);
        }
    }

    private long[] Longs(object? value, string what, string function, int at) =>
        value is PickleTuple tuple && tuple.All(x => x is long)
            ? tuple.Select(x => (long)x!).ToArray()
            : throw Bad($"{function}: the {what} is {Describe(value)}, not a tuple of integers", at);

    private void Append(int at, params object?[] items)
    {
        if (Peek(at) is not List<object?> list) throw Bad($"APPEND to {Describe(Peek(at))}, which is not a list", at);
        list.AddRange(items);
    }

    private void SetItems(int at, object?[] items)
    {
        if (items.Length % 2 != 0) throw Bad("SETITEMS with an odd number of values", at);
        if (Peek(at) is not PickleDict dict) throw Bad($"SETITEM on {Describe(Peek(at))}, which is not a dict", at);
        for (var i = 0; i < items.Length; i += 2) dict.Set(Key(items[i], at), items[i + 1]);
    }

    private PickleDict DictFrom(List<object?> items, int at)
    {
        var dict = new PickleDict();
        if (items.Count % 2 != 0) throw Bad("DICT with an odd number of values", at);
        for (var i = 0; i < items.Count; i += 2) dict.Set(Key(items[i], at), items[i + 1]);
        return dict;
    }

    private object? Key(object? key, int at) =>
        key is null or string or long or double or bool ? key : throw Bad($"dict keys must be plain values, got {Describe(key)}", at);

    private object? Recall(long index, int at) =>
        _memo.TryGetValue(index, out var value) ? value : throw Bad($"memo entry {index} is read before it is stored", at);

    private object? Peek(int at) => _stack.Count > 0 && _stack[^1] is not Mark ? _stack[^1] : throw Bad("stack underflow", at);

    private object? Pop(int at)
    {
        var value = Peek(at);
        _stack.RemoveAt(_stack.Count - 1);
        return value;
    }

    private object?[] PopN(int n, int at)
    {
        var items = new object?[n];
        for (var i = n - 1; i >= 0; i--) items[i] = Pop(at);
        return items;
    }

    private List<object?> PopMark(int at)
    {
        var mark = _stack.FindLastIndex(x => x is Mark);
        if (mark < 0) throw Bad("no MARK on the stack", at);
        var items = _stack.GetRange(mark + 1, _stack.Count - mark - 1);
        _stack.RemoveRange(mark, _stack.Count - mark);
        return items;
    }

    private object? Unmark(object? value, int at) => value is Global g ? throw Bad($"the pickle's result is the bare global {g.Name}", at) : value;

    private byte ReadByte() => Read(1)[0];

    private ReadOnlySpan<byte> Read(long count)
    {
        if (count < 0 || count > _data.Length - _position)
            throw new DataFormatException($"data.pkl is truncated: {count} bytes needed at byte {_position} of {_data.Length}", _filePath);
        var span = _data.AsSpan(_position, (int)count);
        _position += (int)count;
        return span;
    }

    private long ReadLength(int bytes, int at)
    {
        var span = Read(bytes);
        var length = bytes == 4 ? BinaryPrimitives.ReadUInt32LittleEndian(span) : (long)BinaryPrimitives.ReadUInt64LittleEndian(span);
        return length >= 0 && length <= _data.Length ? length : throw Bad($"a length of {length} bytes exceeds the pickle", at);
    }

    private long ReadLong(long bytes, int at)
    {
        if (bytes > 8) throw Bad($"an integer of {bytes} bytes does not fit 64 bits", at);
        var span = Read(bytes);
        long value = 0;
        for (var i = (int)bytes - 1; i >= 0; i--) value = (value << 8) | span[i];
        if (bytes is > 0 and < 8 && (span[(int)bytes - 1] & 0x80) != 0) value -= 1L << (int)(8 * bytes);
        return value;
    }

    private string ReadLine(int at)
    {
        var end = Array.IndexOf(_data, (byte)'\n', _position);
        if (end < 0) throw Bad("a text argument has no end of line", at);
        var text = Encoding.UTF8.GetString(_data, _position, end - _position);
        _position = end + 1;
        return text;
    }

    private string ReadUtf8(long length, int at)
    {
        try
        {
            return new UTF8Encoding(false, throwOnInvalidBytes: true).GetString(Read(length));
        }
        catch (DecoderFallbackException e)
        {
            throw new DataFormatException($"a string at byte {at} of data.pkl is not valid UTF-8: {e.Message}", _filePath, inner: e);
        }
    }

    private long ParseIntLine(string text, int at) => text switch
    {
        "00" => 0, // Python 2 False
        "01" => 1, // Python 2 True
        _ => long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var v) ? v : throw Bad($"'{text}' is not an integer", at),
    };

    private double ParseFloatLine(string text, int at) =>
        double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var v) ? v : throw Bad($"'{text}' is not a number", at);

    private static string Describe(object? value) => value switch
    {
        null => "None",
        Global g => g.Name,
        string => "a string",
        long => "an integer",
        double => "a float",
        bool => "a bool",
        PickleTuple => "a tuple",
        List<object?> => "a list",
        PickleDict => "a dict",
        PthStorage s => $"storage '{s.Key}'",
        PthTensorInfo => "a tensor",
        byte[] => "bytes",
        _ => value.GetType().Name,
    };

    private DataFormatException Bad(string message, int at) =>
        new($"data.pkl is not an allowed torch.save pickle: {message} (opcode at byte {at})", _filePath);
}
