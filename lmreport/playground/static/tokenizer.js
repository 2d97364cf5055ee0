// The model's own tokenizer, in the page: a Hugging Face tokenizer.json (byte-level BPE, as GPT-2, SmolLM2, Llama 3
// and Qwen 2 use) read by LmreportTokenizer.fromJSON(object), whose encode(text) gives the ids that
// tokenizer(text)["input_ids"] gives in Python, and decodeToken(id) the token's text as lmreport's pages show it
// (LoadedModel.token_texts). A plain script (no modules, no fetch), so that file:// pages and node can both load it.
//
// Where the Rust library's regular expressions (Oniguruma) and JavaScript's differ, the patterns are rewritten:
// \s is Unicode's White_Space (with U+0085, without U+FEFF), \d and \w are Unicode's, (?i:...) spells out both cases.
// A part of tokenizer.json this file does not implement makes fromJSON throw, naming it, rather than tokenise
// differently from the model.
(function () {
  "use strict";

  const WHITESPACE = "\\t-\\r \\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000";
  const IS_WHITESPACE = new RegExp(`[${WHITESPACE}]`, "u");
  const WORD_CHARACTER_BEFORE = /[\p{Alphabetic}\p{N}_]$/u;
  const WORD_CHARACTER_AFTER = /^[\p{Alphabetic}\p{N}_]/u;
  const GPT2_PATTERN = "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+";
  const BYTE_FALLBACK_PIECE = /^(<0x[0-9A-Fa-f]{2}>)+$/;
  const WORD_CACHE_SIZE = 10000;
  const utf8Encoder = new TextEncoder();
  const utf8Decoder = new TextDecoder("utf-8");

  class Unsupported extends Error {}

  // GPT-2's byte-level alphabet: printable bytes stand for themselves, the others for characters from U+0100 up.
  const BYTE_TO_CHAR = [];
  const CHAR_TO_BYTE = new Map();
  (() => {
    let shifted = 0;
    for (let byte = 0; byte < 256; byte += 1) {
      const printable = (byte >= 33 && byte <= 126) || (byte >= 161 && byte <= 172) || byte >= 174;
      BYTE_TO_CHAR[byte] = String.fromCharCode(printable ? byte : 256 + shifted);
      shifted += printable ? 0 : 1;
      CHAR_TO_BYTE.set(BYTE_TO_CHAR[byte], byte);
    }
  })();

  function hex2(byte) {
    return byte.toString(16).padStart(2, "0");
  }

  // The length of the well-formed UTF-8 sequence at bytes[at] (Unicode's table 3-7), or 0.
  function sequenceLength(bytes, at) {
    const lead = bytes[at];
    const inRange = (offset, low, high) => at + offset < bytes.length && bytes[at + offset] >= low &&
      bytes[at + offset] <= high;
    if (lead < 0x80) {
      return 1;
    }
    if (lead >= 0xc2 && lead <= 0xdf) {
      return inRange(1, 0x80, 0xbf) ? 2 : 0;
    }
    if (lead >= 0xe0 && lead <= 0xef) {
      const low = lead === 0xe0 ? 0xa0 : 0x80;
      const high = lead === 0xed ? 0x9f : 0xbf;
      return inRange(1, low, high) && inRange(2, 0x80, 0xbf) ? 3 : 0;
    }
    if (lead >= 0xf0 && lead <= 0xf4) {
      const low = lead === 0xf0 ? 0x90 : 0x80;
      const high = lead === 0xf4 ? 0x8f : 0xbf;
      return inRange(1, low, high) && inRange(2, 0x80, 0xbf) && inRange(3, 0x80, 0xbf) ? 4 : 0;
    }
    return 0;
  }

  // Python's bytes.decode("utf-8", errors="backslashreplace"): a byte outside a valid sequence shows as \xNN.
  function decodeEscaped(bytes) {
    let text = "";
    for (let at = 0; at < bytes.length;) {
      const length = sequenceLength(bytes, at);
      if (length === 0) {
        text += `\\x${hex2(bytes[at])}`;
        at += 1;
      } else {
        text += utf8Decoder.decode(bytes.subarray(at, at + length));
        at += length;
      }
    }
    return text;
  }

  // --- Regular expressions: Oniguruma's syntax, as tokenizer.json writes it, rewritten for JavaScript's u flag.

  const SYNTAX_CHARACTERS = "^$\\.*+?()[]{}|/";

  function bothCases(character, inClass) {
    const lower = character.toLowerCase();
    const upper = character.toUpperCase();
    if (lower === upper) {
      return character;
    }
    return inClass ? lower + upper : `[${lower}${upper}]`;
  }

  function translateEscape(pattern, at, inClass) {
    const next = pattern[at + 1];
    const classes = { s: WHITESPACE, d: "\\p{Nd}", w: "\\p{L}\\p{M}\\p{Nd}\\p{Pc}" };
    if (next in classes) {
      return [inClass ? classes[next] : `[${classes[next]}]`, 2];
    }
    if ("SDW".includes(next)) {
      if (inClass) {
        throw new Unsupported(`\\${next} inside [...] in the pattern ${pattern}`);
      }
      return [`[^${classes[next.toLowerCase()]}]`, 2];
    }
    if ((next === "p" || next === "P") && pattern[at + 2] !== "{") {
      return [`\\${next}{${pattern[at + 2]}}`, 3];
    }
    if ((next === "p" || next === "P")) {
      const end = pattern.indexOf("}", at);
      return [pattern.slice(at, end + 1), end + 1 - at];
    }
    if (next === "x" && pattern[at + 2] === "{") {
      const end = pattern.indexOf("}", at);
      return [`\\u{${pattern.slice(at + 3, end)}}`, end + 1 - at];
    }
    if ("bBAzZGhHkKgQE".includes(next)) {
      throw new Unsupported(`\\${next} in the pattern ${pattern}`);
    }
    if (/[0-9A-Za-z]/.test(next)) {
      return [`\\${next}`, 2];
    }
    if (SYNTAX_CHARACTERS.includes(next) || (inClass && next === "-")) {
      return [`\\${next}`, 2];
    }
    return [next, 2];
  }

  function translatePattern(pattern) {
    let out = "";
    let inClass = false;
    const groups = [];  // per open group: whether it is (?i:...)
    for (let at = 0; at < pattern.length;) {
      const character = pattern[at];
      const caseless = groups.includes(true);
      if (character === "\\") {
        const [text, length] = translateEscape(pattern, at, inClass);
        out += text;
        at += length;
      } else if (inClass) {
        if (character === "[" || pattern.startsWith("&&", at)) {
          throw new Unsupported(`nested classes in the pattern ${pattern}`);
        }
        inClass = character !== "]";
        out += caseless ? bothCases(character, true) : character;
        at += 1;
      } else if (character === "[") {
        inClass = true;
        out += pattern[at + 1] === "^" ? "[^" : "[";
        at += pattern[at + 1] === "^" ? 2 : 1;
      } else if (pattern.startsWith("(?i:", at)) {
        groups.push(true);
        out += "(?:";
        at += 4;
      } else if (pattern.startsWith("(?>", at) || /^(\(\?[a-z-]+[:)])/.test(pattern.slice(at)) ||
                 /^[*+?}][+]/.test(pattern.slice(at))) {
        throw new Unsupported(`atomic groups, possessive quantifiers or flags in the pattern ${pattern}`);
      } else {
        if (character === "(") {
          groups.push(false);
        } else if (character === ")") {
          groups.pop();
        }
        out += caseless ? bothCases(character, false) : character;
        at += 1;
      }
    }
    return new RegExp(out, "gu");
  }

  function escapeLiteral(text) {
    return text.replace(/[\\^$.*+?()[\]{}|/]/g, "\\$&");
  }

  // --- Splitting by a pattern, as the Rust library's NormalizedString::split does for each behaviour.

  function matchesOf(text, regex) {
    const parts = [];
    let last = 0;
    regex.lastIndex = 0;
    for (let match = regex.exec(text); match !== null; match = regex.exec(text)) {
      if (match[0] === "") {
        regex.lastIndex += text.codePointAt(regex.lastIndex) > 0xffff ? 2 : 1;
        continue;
      }
      if (match.index > last) {
        parts.push({ text: text.slice(last, match.index), match: false });
      }
      parts.push({ text: match[0], match: true });
      last = match.index + match[0].length;
    }
    if (last < text.length) {
      parts.push({ text: text.slice(last), match: false });
    }
    return parts;
  }

  function splitBy(text, regex, behavior, invert) {
    const parts = matchesOf(text, regex).map((part) => ({ text: part.text, match: part.match !== invert }));
    const kept = [];
    let previousMatch = false;
    const merge = {
      Isolated: () => false,
      Removed: () => false,
      Contiguous: (part) => part.match === previousMatch,
      MergedWithPrevious: (part) => part.match && !previousMatch,
    };
    if (behavior === "MergedWithNext") {
      for (let i = parts.length - 1; i >= 0; i -= 1) {
        if (parts[i].match && !previousMatch && kept.length) {
          kept[kept.length - 1] = parts[i].text + kept[kept.length - 1];
        } else {
          kept.push(parts[i].text);
        }
        previousMatch = parts[i].match;
      }
      return kept.reverse();
    }
    for (const part of parts) {
      if (behavior === "Removed" && part.match) {
        continue;
      }
      if (merge[behavior](part) && kept.length) {
        kept[kept.length - 1] += part.text;
      } else {
        kept.push(part.text);
      }
      previousMatch = part.match;
    }
    return kept;
  }

  // One stage of tokenizer.json (a normalizer, pre-tokenizer or post-processor) as a function of what it reads:
  // `none` where the file has none, its parts in turn for a Sequence (listed under listKey), else steps[type];
  // a type steps lacks is Unsupported, named as `what`.
  function makeStage(spec, what, listKey, steps, none) {
    if (spec === null || spec === undefined) {
      return none;
    }
    if (spec.type === "Sequence") {
      const parts = spec[listKey].map((part) => makeStage(part, what, listKey, steps, none));
      return (input) => parts.reduce((done, part) => part(done), input);
    }
    if (!(spec.type in steps)) {
      throw new Unsupported(`${what} ${spec.type}`);
    }
    return steps[spec.type](spec);
  }

  // --- Normalizers and pre-tokenizers: each a function of one text, a list of pieces.

  // A Split's or Replace's pattern: {Regex: "..."} or {String: "..."}, as a global unicode RegExp.
  function patternOf(pattern) {
    return "Regex" in pattern ? translatePattern(pattern.Regex) : new RegExp(escapeLiteral(pattern.String), "gu");
  }

  const NORMALIZERS = {
    NFC: () => (text) => text.normalize("NFC"),
    NFD: () => (text) => text.normalize("NFD"),
    NFKC: () => (text) => text.normalize("NFKC"),
    NFKD: () => (text) => text.normalize("NFKD"),
    // One character at a time, as Rust's char::to_lowercase (no final sigma).
    Lowercase: () => (text) => Array.from(text, (character) => character.toLowerCase()).join(""),
    Prepend: (spec) => (text) => (text === "" ? text : spec.prepend + text),
    Replace: (spec) => {
      const regex = patternOf(spec.pattern);
      return (text) => text.replace(regex, () => spec.content);
    },
  };

  function makeNormalizer(spec) {
    return makeStage(spec, "normalizer", "normalizers", NORMALIZERS, null);
  }

  function toByteLevel(text) {
    let out = "";
    for (const byte of utf8Encoder.encode(text)) {
      out += BYTE_TO_CHAR[byte];
    }
    return out;
  }

  const PRE_TOKENIZERS = {
    ByteLevel: (spec) => {
      const regex = spec.use_regex === false ? null : translatePattern(GPT2_PATTERN);
      return (pieces) => pieces.filter((piece) => piece !== "").flatMap((piece) => {
        const prefixed = spec.add_prefix_space && !piece.startsWith(" ") ? ` ${piece}` : piece;
        return regex === null ? [prefixed] : splitBy(prefixed, regex, "Isolated", false);
      }).map(toByteLevel);
    },
    Split: (spec) => {
      const regex = patternOf(spec.pattern);
      return (pieces) => pieces.flatMap((piece) => splitBy(piece, regex, spec.behavior, Boolean(spec.invert)));
    },
    Digits: (spec) => {
      const behavior = spec.individual_digits ? "Isolated" : "Contiguous";
      return (pieces) => pieces.flatMap((piece) => splitBy(piece, /\p{N}/gu, behavior, false));
    },
  };

  function makePreTokenizer(spec) {
    return makeStage(spec, "pre_tokenizer", "pretokenizers", PRE_TOKENIZERS, (pieces) => pieces);
  }

  // --- The BPE model: merges applied lowest rank first, leftmost first among equals, as the Rust library does.

  function makeBPE(spec, size) {
    if (spec.type !== "BPE" && !(spec.type === undefined && "merges" in spec)) {
      throw new Unsupported(`model ${spec.type}`);
    }
    if (spec.dropout) {
      throw new Unsupported("BPE dropout");
    }
    const vocab = new Map(Object.entries(spec.vocab));
    const prefix = spec.continuing_subword_prefix || "";
    const suffix = spec.end_of_word_suffix || "";
    const merges = new Map();  // left id * size + right id -> [rank, merged id]
    spec.merges.forEach((pair, rank) => {
      const [left, right] = typeof pair === "string" ? pair.split(" ") : pair;
      const merged = vocab.get(left + right.slice(prefix.length));
      if (vocab.has(left) && vocab.has(right) && merged !== undefined) {
        merges.set(vocab.get(left) * size + vocab.get(right), [rank, merged]);
      }
    });
    const unknown = spec.unk_token === null || spec.unk_token === undefined ? undefined : vocab.get(spec.unk_token);
    const cache = new Map();

    function symbolsOf(word) {
      const characters = Array.from(word);
      const symbols = [];
      let pendingUnknown = false;
      characters.forEach((character, at) => {
        const piece = (at > 0 ? prefix : "") + character + (at === characters.length - 1 ? suffix : "");
        let ids = vocab.has(piece) ? [vocab.get(piece)] : null;
        if (ids === null && spec.byte_fallback) {
          ids = Array.from(utf8Encoder.encode(character), (byte) => vocab.get(`<0x${hex2(byte).toUpperCase()}>`));
          ids = ids.every((id) => id !== undefined) ? ids : null;
        }
        if (ids !== null) {
          symbols.push(...ids);
          pendingUnknown = false;
        } else if (unknown !== undefined && !(spec.fuse_unk && pendingUnknown)) {
          symbols.push(unknown);
          pendingUnknown = true;
        }
      });
      return symbols;
    }

    function merge(word) {
      if (spec.ignore_merges && vocab.has(word)) {
        return [vocab.get(word)];
      }
      const symbols = symbolsOf(word);
      const rankOf = (at) => {
        const found = merges.get(symbols[at] * size + symbols[at + 1]);
        return found === undefined ? Infinity : found[0];
      };
      const ranks = symbols.slice(1).map((_, at) => rankOf(at));
      for (;;) {
        let best = 0;
        for (let at = 1; at < ranks.length; at += 1) {
          best = ranks[at] < ranks[best] ? at : best;
        }
        if (!(ranks[best] < Infinity)) {
          return symbols;
        }
        symbols.splice(best, 2, merges.get(symbols[best] * size + symbols[best + 1])[1]);
        ranks.splice(best, 1);
        if (best > 0) {
          ranks[best - 1] = rankOf(best - 1);
        }
        if (best < ranks.length) {
          ranks[best] = rankOf(best);
        }
      }
    }

    return (word) => {
      let ids = cache.get(word);
      if (ids === undefined) {
        ids = merge(word);
        if (cache.size >= WORD_CACHE_SIZE) {
          cache.clear();
        }
        cache.set(word, ids);
      }
      return ids;
    };
  }

  // --- Added tokens: found in the text before anything else, leftmost and longest first; those marked normalized
  // are looked for after the normalizer, the others in the text as typed.

  function makeAddedTokenSplitter(tokens) {
    if (!tokens.length) {
      return (text) => [text];
    }
    const byContent = new Map(tokens.map((token) => [token.content, token]));
    const sorted = [...byContent.keys()].sort((a, b) => b.length - a.length);
    const regex = new RegExp(sorted.map(escapeLiteral).join("|"), "gu");
    return (text) => {
      const pieces = [];
      let last = 0;
      regex.lastIndex = 0;
      for (let match = regex.exec(text); match !== null; match = regex.exec(text)) {
        const token = byContent.get(match[0]);
        let start = match.index;
        let end = start + match[0].length;
        if (token.single_word && (WORD_CHARACTER_BEFORE.test(text.slice(0, start)) ||
                                  WORD_CHARACTER_AFTER.test(text.slice(end)))) {
          continue;
        }
        while (token.lstrip && start > last && IS_WHITESPACE.test(text[start - 1])) {
          start -= 1;
        }
        while (token.rstrip && end < text.length && IS_WHITESPACE.test(text[end])) {
          end += 1;
        }
        if (start > last) {
          pieces.push(text.slice(last, start));
        }
        pieces.push({ id: token.id });
        last = end;
        regex.lastIndex = end;
      }
      if (last < text.length) {
        pieces.push(text.slice(last));
      }
      return pieces;
    };
  }

  // --- Post-processors: the special tokens a plain tokenizer(text) call adds around one sequence.

  const POST_PROCESSORS = {
    ByteLevel: () => (ids) => ids,
    TemplateProcessing: (spec) => (ids) => spec.single.flatMap((item) => (
      "Sequence" in item ? ids : spec.special_tokens[item.SpecialToken.id].ids)),
    BertProcessing: (spec) => (ids) => [spec.cls[1], ...ids, spec.sep[1]],
    RobertaProcessing: (spec) => (ids) => [spec.cls[1], ...ids, spec.sep[1]],
  };

  function makePostProcessor(spec) {
    return makeStage(spec, "post_processor", "processors", POST_PROCESSORS, (ids) => ids);
  }

  // --- Decoding one token, as tokenizer.decode([id]) and then LoadedModel.token_texts show it.

  function makeDecoder(spec) {
    if (spec === null || spec === undefined) {
      return (piece) => piece;
    }
    if (spec.type !== "ByteLevel") {
      throw new Unsupported(`decoder ${spec.type}`);
    }
    return (piece) => {
      const characters = Array.from(piece);
      if (characters.every((character) => CHAR_TO_BYTE.has(character))) {
        return utf8Decoder.decode(Uint8Array.from(characters, (character) => CHAR_TO_BYTE.get(character)));
      }
      return piece;
    };
  }

  // A piece of a multi-byte character as its bytes ('\xe2\x80'), as lmreport's _byte_piece does.
  function bytePiece(piece) {
    if (BYTE_FALLBACK_PIECE.test(piece)) {
      return decodeEscaped(Uint8Array.from(piece.match(/[0-9A-Fa-f]{2}(?=>)/g), (digits) => parseInt(digits, 16)));
    }
    const characters = Array.from(piece);
    if (piece !== "" && characters.every((character) => CHAR_TO_BYTE.has(character))) {
      return decodeEscaped(Uint8Array.from(characters, (character) => CHAR_TO_BYTE.get(character)));
    }
    return null;
  }

  function fromJSON(json) {
    const spec = typeof json === "string" ? JSON.parse(json) : json;
    const added = spec.added_tokens || [];
    // A loop, not Math.max(...ids): a spread of 128k arguments or more overflows the stack.
    const size = [...Object.values(spec.model.vocab || {}), ...added.map((token) => token.id)]
      .reduce((most, id) => (id > most ? id : most), -1) + 1;
    const parts = [
      () => makeNormalizer(spec.normalizer), () => makePreTokenizer(spec.pre_tokenizer),
      () => makeBPE(spec.model, size), () => makePostProcessor(spec.post_processor), () => makeDecoder(spec.decoder),
    ];
    const problems = [];
    const [normalize, preTokenize, bpe, postProcess, decode] = parts.map((make) => {
      try {
        return make();
      } catch (error) {
        if (!(error instanceof Unsupported)) {
          throw error;
        }
        problems.push(error.message);
        return null;
      }
    });
    if (problems.length) {
      throw new Error(`this tokenizer uses what the page's tokenizer does not implement: ${problems.join("; ")}`);
    }
    const asTyped = makeAddedTokenSplitter(added.filter((token) => !token.normalized));
    const afterNormalizer = makeAddedTokenSplitter(added.filter((token) => token.normalized));
    const idToPiece = new Map(Object.entries(spec.model.vocab).map(([piece, id]) => [id, piece]));
    added.forEach((token) => idToPiece.set(token.id, token.content));

    function encode(text) {
      const ids = [];
      for (const segment of asTyped(text)) {
        if (typeof segment !== "string") {
          ids.push(segment.id);
          continue;
        }
        for (const part of afterNormalizer(normalize === null ? segment : normalize(segment))) {
          if (typeof part !== "string") {
            ids.push(part.id);
            continue;
          }
          if (part === "") {
            continue;
          }
          for (const word of preTokenize([part])) {
            ids.push(...bpe(word));
          }
        }
      }
      return postProcess(ids);
    }

    function decodeToken(id) {
      const piece = idToPiece.get(id);
      if (piece === undefined) {
        return "";
      }
      let text = decode(piece);
      if (piece.startsWith("\u2581") && !text.startsWith(" ")) {
        text = ` ${text}`;
      }
      if (text.includes("\ufffd")) {
        text = bytePiece(piece) || text;
      }
      return text;
    }

    return { encode, decodeToken, size };
  }

  globalThis.LmreportTokenizer = { fromJSON };
})();
