// The template lint: a value reaches a generated file only through the quoting helper of the exact
// context it lands in (compiler/render/quote.ts). It reads a template as the file it will produce:
// EJS tags are cut out, then the text is lexed in the target's own language, and each output tag is
// judged by where it stands. Run by test/templates.test.ts over the built-in templates and at load
// time over external plugins' templates (compiler/load/plugins.ts).
//
// It guards against mistakes, not hostile plugins: a plugin's scriptlets are JavaScript and run with
// plc's rights (SECURITY.md: --plugins-dir is trusted code).
//
// Rules (each diagnostic names one):
// - no `<%=` (HTML escaping is not quoting); every `<%-` is exactly one helper call, `include('file')` of
//   a file in the same folder, or `list.map(helper).join(" ")`; nothing concatenated (`sh(x) + v`);
// - no scriptlet writes output itself (`__append`, `__output`);
// - the helper fits the file: sh/shAssign in shell, unitExec on Exec*= lines and unitValue elsewhere in
//   systemd units, nginx in nginx files, logrotatePath in logrotate files, shAssign lines in env files;
// - in shell, a helper's output is a whole word: outside "…", '…', `…`, ${…}, $((…)) and comments, not
//   glued to text or to another tag on either side (`/etc/x/<%- sh(f) %>` is refused even though sh()
//   would close its quote: write the whole word as one call, `<%- sh(`/etc/x/${f}`) %>`). One prefix is
//   allowed: an assignment `NAME=`, whose value is a word of its own;
// - never an argument of `eval`, nor the code string of `sh -c` (and bash, dash, su…): that is code;
// - heredoc bodies: an unquoted one (`<<EOF`) expands `$(…)`, so no helper output at all; a quoted one
//   whose delimiter names another language (`<<'PY'`: Python) takes only that language's helper (py);
// - no `set -x` / `set -v` in shell (tracing prints secrets after expansion).
import { diagnostic, type Diagnostic } from "../diagnostics.js";
import type { ArgsOf, DiagnosticCode } from "../messages.js";
import { QUOTE_HELPERS } from "./quote.js";

type TemplateKind = "shell" | "assignments" | "lines" | "systemd" | "nginx" | "logrotate";

/** A quoted heredoc whose delimiter is one of these holds another language: only its helper in the body. */
const HEREDOC_LANGUAGES: Record<string, string> = { PY: "py", PYTHON: "py", JSON: "json" };
/** Commands whose `-c` argument is shell code. */
const SHELLS = new Set(["sh", "dash", "bash", "ash", "zsh", "ksh", "busybox", "su"]);
/** Words after which the next word is still a command name. */
const COMMAND_PREFIXES = new Set(["!", "if", "then", "else", "elif", "while", "until", "do", "{", "exec", "command", "nohup", "time"]);

/** What a file becomes decides its language; external plugins' hooks are `*.sh.ejs`. */
export function templateKind(file: string): TemplateKind {
  const base = file.split("/").pop() ?? file;
  if (/\.(service|timer|socket|path|mount)\.ejs$/.test(base)) return "systemd";
  if (/\.conf\.ejs$/.test(base)) return "nginx";
  if (base === "logrotate.ejs") return "logrotate";
  if (base === "env.ejs" || base === "secrets.env.ejs") return "assignments";
  if (base === "secrets.keys.ejs") return "lines";
  return "shell";
}

const SENTINEL = "\uE000";

interface OutputTag {
  expression: string;
  offset: number;
}

/** The template as the text it produces: scriptlets removed, output tags replaced by SENTINEL. */
function skeletonOf(source: string, problem: Report): { text: string; tags: OutputTag[] } {
  let text = "";
  const tags: OutputTag[] = [];
  let position = 0;
  let trimNext: "" | "newline" | "whitespace" = "";
  const pushText = (chunk: string): void => {
    let piece = chunk;
    if (trimNext === "newline") piece = piece.replace(/^\r?\n/, "");
    if (trimNext === "whitespace") piece = piece.replace(/^[ \t]*\r?\n?/, "");
    trimNext = "";
    text += piece;
  };
  while (position < source.length) {
    const open = source.indexOf("<%", position);
    if (open < 0) {
      pushText(source.slice(position));
      break;
    }
    if (source[open + 2] === "%") {
      pushText(source.slice(position, open) + "<%");
      position = open + 3;
      continue;
    }
    const marker = source[open + 2] ?? "";
    let before = source.slice(position, open);
    if (marker === "_") before = before.replace(/[ \t]*$/, "");
    pushText(before);
    const close = source.indexOf("%>", open + 2);
    if (close < 0) {
      problem(open, "lint-unclosed-tag", {});
      break;
    }
    const closing = source[close - 1];
    const inner = source.slice(open + (["-", "=", "_", "#"].includes(marker) ? 3 : 2), closing === "-" || closing === "_" ? close - 1 : close);
    if (marker === "=") {
      problem(open, "lint-escaped-output", {});
      text += SENTINEL;
      tags.push({ expression: "", offset: -1 - open });
    } else if (marker === "-") {
      // An included template is whole lines: it ends the line it starts.
      const called = helperOf(inner);
      text += "helper" in called && called.helper === "include" ? `${SENTINEL}\n` : SENTINEL;
      tags.push({ expression: inner, offset: open });
    } else if (marker !== "#" && /\b__(append|output)\b/.test(inner)) {
      problem(open, "lint-scriptlet-output", {});
    }
    trimNext = closing === "-" ? "newline" : closing === "_" ? "whitespace" : "";
    position = close + 2;
  }
  return { text, tags };
}

/** The end of a balanced JavaScript call starting at `(` (index of it), skipping strings and template literals. */
function matchingParen(source: string, start: number): number {
  let depth = 0;
  for (let i = start; i < source.length; i++) {
    const c = source[i];
    if (c === "'" || c === '"') {
      for (i++; i < source.length && source[i] !== c; i++) if (source[i] === "\\") i++;
    } else if (c === "`") {
      i = templateLiteralEnd(source, i);
    } else if (c === "(" || c === "[" || c === "{") {
      depth++;
    } else if (c === ")" || c === "]" || c === "}") {
      depth--;
      if (depth === 0) return i;
    }
  }
  return -1;
}

function templateLiteralEnd(source: string, start: number): number {
  for (let i = start + 1; i < source.length; i++) {
    if (source[i] === "\\") i++;
    else if (source[i] === "`") return i;
    else if (source[i] === "$" && source[i + 1] === "{") {
      const end = matchingParen(source, i + 1);
      if (end < 0) return source.length;
      i = end;
    }
  }
  return source.length;
}

type Helper = keyof typeof QUOTE_HELPERS | "include";

/** Which helper an output tag calls, when it is exactly one allowed form; else why not. */
export function helperOf(expression: string): { helper: Helper } | { error: HelperError } {
  const helpers = Object.keys(QUOTE_HELPERS);
  const isHelper = (name: string): name is keyof typeof QUOTE_HELPERS => helpers.includes(name);
  // A file in the template's own folder or below it: no absolute path, no `..`.
  const include = /^\s*include\(\s*(['"])((?:[^'"/\\.][^'"/\\]*\/)*[^'"/\\]+)\1\s*\)\s*$/.exec(expression);
  if (include) return { helper: "include" };
  if (/^\s*include\(/.test(expression)) return { error: { kind: "include-name" } };
  const list = /^\s*[A-Za-z_$][\w$]*(?:\.[A-Za-z_$][\w$]*)*(?:\([\w$.]*\))?\.map\(([A-Za-z]+)\)\.join\(\s*(["'])\s\2\s*\)\s*$/.exec(expression);
  if (list?.[1] !== undefined && isHelper(list[1])) return { helper: list[1] };
  const call = /^\s*([A-Za-z]+)\s*\(/.exec(expression);
  if (call?.[1] !== undefined && isHelper(call[1])) {
    const end = matchingParen(expression, call[0].length - 1);
    if (end > 0 && expression.slice(end + 1).trim() === "") return { helper: call[1] };
    if (end < 0) return { error: { kind: "unclosed-call", helper: call[1] } };
    return { error: { kind: "concatenated", helper: call[1] } };
  }
  return { error: { kind: "raw-value" } };
}

/** Why an output tag is not one allowed helper call. */
type HelperError = { kind: "include-name" | "raw-value" } | { kind: "unclosed-call" | "concatenated"; helper: string };

type LintCode = Extract<DiagnosticCode, `lint-${string}`>;
type Report = <C extends LintCode>(offset: number, code: C, args: ArgsOf<C>) => void;

function reportHelperError(problem: Report, offset: number, error: HelperError): void {
  if (!("helper" in error)) problem(offset, error.kind === "include-name" ? "lint-include-name" : "lint-raw-value", {});
  else if (error.kind === "unclosed-call") problem(offset, "lint-unclosed-call", { helper: error.helper });
  else problem(offset, "lint-concatenated", { helper: error.helper });
}

interface Frame {
  kind: "command" | "cmdsub" | "backtick" | "dquote" | "squote" | "param" | "arith";
  depth: number;
  word: string;
  inWord: boolean;
  words: string[];
}

interface Heredoc {
  delimiter: string;
  quoted: boolean;
  stripTabs: boolean;
}

const WORD_END = new Set([" ", "\t", "\n", ";", "&", "|", ")", "<", ">"]);

/** Lints one template; `file` is how diagnostics name it (its kind comes from its name). */
export function lintTemplate(source: string, file: string): Diagnostic[] {
  const found: Diagnostic[] = [];
  const problem: Report = (offset, code, args) => {
    const before = source.slice(0, Math.max(0, offset));
    const line = before.split("\n").length;
    const col = offset - before.lastIndexOf("\n");
    found.push(diagnostic(code, args, { origin: { kind: "file", file, line, col } }));
  };
  const kind = templateKind(file);
  const { text, tags } = skeletonOf(source, problem);
  let tagIndex = 0;
  const nextTag = (): OutputTag => tags[tagIndex++] ?? { expression: "", offset: -1 };

  if (kind !== "shell") {
    lintLineTemplate(kind, text, nextTag, problem);
  } else {
    lintShell(text, nextTag, problem);
    for (const match of source.matchAll(/^[ \t]*set[ \t]+(-[a-wyz]*x|-o[ \t]+(xtrace|verbose)|-[a-uw-z]*v\b)/gm)) {
      problem(match.index, "lint-set-x", {});
    }
  }
  return found;
}


/** Line formats (units, nginx, logrotate, env files): the right helper for the line it is on. */
function lintLineTemplate(kind: Exclude<TemplateKind, "shell">, text: string, nextTag: () => OutputTag, problem: Report): void {
  let lineStart = 0;
  for (let i = 0; i < text.length; i++) {
    if (text[i] === "\n") lineStart = i + 1;
    if (text[i] !== SENTINEL) continue;
    const tag = nextTag();
    if (tag.offset < 0) continue;
    const found = helperOf(tag.expression);
    if ("error" in found) {
      reportHelperError(problem, tag.offset, found.error);
      continue;
    }
    const line = text.slice(lineStart, text.indexOf("\n", i) < 0 ? text.length : text.indexOf("\n", i));
    const wholeLine = line === SENTINEL;
    // A partial of the same language (`_tls-server.conf.ejs`, linted itself) may stand alone on a line of an nginx file.
    if (kind === "nginx" && found.helper === "include") {
      if (!wholeLine) problem(tag.offset, "lint-include-alone", { where: "on its line" });
      continue;
    }
    let wanted: Helper[];
    switch (kind) {
      case "systemd":
        wanted = /^Exec[A-Za-z]*=/.test(line) ? ["unitExec"] : ["unitValue"];
        break;
      case "nginx":
        wanted = ["nginx"];
        break;
      case "logrotate":
        wanted = ["logrotatePath"];
        break;
      case "assignments":
        wanted = ["shAssign"];
        if (!wholeLine) problem(tag.offset, "lint-env-line", {});
        break;
      case "lines":
        wanted = ["sh"];
        if (!wholeLine) problem(tag.offset, "lint-list-line", {});
        break;
    }
    if (!wanted.includes(found.helper)) problem(tag.offset, "lint-wrong-helper", { helper: found.helper, wanted: wanted.join(" or ") });
  }
}

/** POSIX sh, lexed far enough to know where each output tag lands. */
function lintShell(text: string, nextTag: () => OutputTag, problem: Report): void {
  const stack: Frame[] = [{ kind: "command", depth: 0, word: "", inWord: false, words: [] }];
  const frame = (): Frame => stack[stack.length - 1] ?? { kind: "command", depth: 0, word: "", inWord: false, words: [] };
  const commandFrame = (): Frame => [...stack].reverse().find((f) => f.kind === "command" || f.kind === "cmdsub" || f.kind === "backtick") ?? frame();
  const push = (kind: Frame["kind"]): void => {
    const outer = commandFrame();
    outer.inWord = true;
    stack.push({ kind, depth: 0, word: "", inWord: false, words: [] });
  };
  const pop = (): void => {
    if (stack.length > 1) stack.pop();
  };
  const endWord = (f: Frame): void => {
    if (f.inWord) f.words.push(f.word);
    f.word = "";
    f.inWord = false;
  };
  const endCommand = (f: Frame): void => {
    endWord(f);
    f.words = [];
  };
  let pending: Heredoc[] = [];

  const where: Record<Exclude<Frame["kind"], "command" | "cmdsub">, string> = {
    backtick: "inside `…` (backslashes and quotes mean something else there)",
    dquote: 'inside "…", where its quotes are literal characters and $(…) still runs',
    squote: "inside '…', where its quotes end the string",
    param: "inside ${…}",
    arith: "inside $((…)), which is not a word",
  };

  const checkTag = (i: number): void => {
    const tag = nextTag();
    if (tag.offset < 0) return;
    const found = helperOf(tag.expression);
    if ("error" in found) {
      reportHelperError(problem, tag.offset, found.error);
      return;
    }
    const f = frame();
    // Any enclosing quote counts, not only the innermost: `"$(ls <%- sh(x) %>)"` reads as a value in
    // double quotes, and the rule is that a helper's output is never inside them.
    const quoted = [...stack].reverse().find((outer) => outer.kind !== "command" && outer.kind !== "cmdsub");
    if (quoted !== undefined && quoted.kind !== "command" && quoted.kind !== "cmdsub") {
      problem(tag.offset, "lint-quoted-output", { where: where[quoted.kind] });
      return;
    }
    if (found.helper === "include") {
      if (f.inWord || f.words.length > 0 || (i > 0 && text[i - 1] !== "\n")) problem(tag.offset, "lint-include-alone", { where: "at the start of a line" });
      return;
    }
    if (found.helper !== "sh" && found.helper !== "shAssign") {
      problem(tag.offset, "lint-not-shell-quoting", { helper: found.helper });
      return;
    }
    if (f.inWord && !/^[A-Za-z_][A-Za-z0-9_]*=$/.test(f.word)) {
      problem(tag.offset, "lint-glued-before", { word: JSON.stringify(f.word.replaceAll(SENTINEL, "<%- … %>")) });
    }
    let after = i + 1;
    while (text[after] === "\\" && text[after + 1] === "\n") after += 2;
    const next = text[after];
    if (next === SENTINEL) problem(tag.offset, "lint-glued-next-tag", {});
    else if (next !== undefined && !WORD_END.has(next)) problem(tag.offset, "lint-glued-after", { word: JSON.stringify(/^[^\s;&|()<>\uE000]{1,30}/.exec(text.slice(after))?.[0] ?? next) });
    const words = [...f.words];
    while (words.length > 0 && (COMMAND_PREFIXES.has(words[0] ?? "") || /^[A-Za-z_][A-Za-z0-9_]*=/.test(words[0] ?? ""))) words.shift();
    if (words[0] === "eval") problem(tag.offset, "lint-eval", {});
    else if (/^-[A-Za-z]*c[A-Za-z]*$/.test(words.at(-1) ?? "") && words.some((word) => SHELLS.has(word.split("/").pop() ?? word))) {
      problem(tag.offset, "lint-sh-c", {});
    }
  };

  const readHeredocs = (start: number): number => {
    let i = start;
    for (const heredoc of pending) {
      for (;;) {
        const end = text.indexOf("\n", i);
        const line = text.slice(i, end < 0 ? text.length : end);
        const compared = heredoc.stripTabs ? line.replace(/^\t+/, "") : line;
        if (compared === heredoc.delimiter) {
          i = end < 0 ? text.length : end + 1;
          break;
        }
        const language = heredoc.quoted ? HEREDOC_LANGUAGES[heredoc.delimiter] : undefined;
        for (let j = line.indexOf(SENTINEL); j >= 0; j = line.indexOf(SENTINEL, j + 1)) {
          const tag = nextTag();
          if (tag.offset < 0) continue;
          const found = helperOf(tag.expression);
          if ("error" in found) reportHelperError(problem, tag.offset, found.error);
          else if (!heredoc.quoted) problem(tag.offset, "lint-unquoted-heredoc", { delimiter: heredoc.delimiter });
          else if (language === undefined) problem(tag.offset, "lint-heredoc-language", { delimiter: heredoc.delimiter });
          else if (found.helper !== language) problem(tag.offset, "lint-heredoc-helper", { helper: found.helper, delimiter: heredoc.delimiter, language });
        }
        if (end < 0) return text.length;
        i = end + 1;
      }
    }
    pending = [];
    return i;
  };

  for (let i = 0; i < text.length; i++) {
    const c = text[i] ?? "";
    const f = frame();
    if (c === SENTINEL) {
      checkTag(i);
      if (f.kind === "command" || f.kind === "cmdsub" || f.kind === "backtick") {
        f.inWord = true;
        f.word += c;
      }
      continue;
    }
    switch (f.kind) {
      case "squote":
        if (c === "'") pop();
        continue;
      case "dquote":
        if (c === "\\") i++;
        else if (c === '"') pop();
        else if (c === "`") push("backtick");
        else if (c === "$") i = dollar(i);
        continue;
      case "param":
        if (c === "\\") i++;
        else if (c === "}") pop();
        else if (c === '"') push("dquote");
        else if (c === "'") push("squote");
        else if (c === "$") i = dollar(i);
        continue;
      case "arith":
        if (c === "(") f.depth++;
        else if (c === ")") {
          if (f.depth === 0 && text[i + 1] === ")") {
            pop();
            i++;
          } else f.depth--;
        } else if (c === "$") i = dollar(i);
        continue;
      default:
        break;
    }
    // A command level: top, $(…) or `…`.
    if (c === "\\") {
      if (text[i + 1] === "\n") {
        i++;
        continue;
      }
      f.word += c + (text[i + 1] ?? "");
      f.inWord = true;
      i++;
    } else if (c === "'") {
      f.word += c;
      push("squote");
    } else if (c === '"') {
      f.word += c;
      push("dquote");
    } else if (c === "`") {
      if (f.kind === "backtick") {
        endWord(f);
        pop();
      } else {
        f.word += c;
        push("backtick");
      }
    } else if (c === "$") {
      f.word += c;
      f.inWord = true;
      i = dollar(i);
    } else if (c === " " || c === "\t") {
      endWord(f);
    } else if (c === "\n") {
      endCommand(f);
      if (pending.length > 0 && f.kind === "command") i = readHeredocs(i + 1) - 1;
    } else if (c === ";" || c === "&" || c === "|") {
      endCommand(f);
    } else if (c === "(") {
      if (f.kind === "cmdsub") f.depth++;
      endCommand(f);
    } else if (c === ")") {
      if (f.kind === "cmdsub" && f.depth === 0) {
        endWord(f);
        pop();
      } else {
        if (f.kind === "cmdsub") f.depth--;
        endCommand(f);
      }
    } else if (c === "<" || c === ">") {
      endWord(f);
      if (c === "<" && text[i + 1] === "<") i = heredocStart(i);
    } else if (c === "#" && !f.inWord) {
      const end = text.indexOf("\n", i);
      const comment = text.slice(i, end < 0 ? text.length : end);
      for (let j = comment.indexOf(SENTINEL); j >= 0; j = comment.indexOf(SENTINEL, j + 1)) {
        const tag = nextTag();
        if (tag.offset >= 0) problem(tag.offset, "lint-comment", {});
      }
      i = (end < 0 ? text.length : end) - 1;
    } else {
      f.word += c;
      f.inWord = true;
    }
  }

  /** At `$`: enters $((, $( or ${ and returns the index of the last character consumed. */
  function dollar(i: number): number {
    if (text[i + 1] === "(" && text[i + 2] === "(") {
      push("arith");
      return i + 2;
    }
    if (text[i + 1] === "(") {
      push("cmdsub");
      return i + 1;
    }
    if (text[i + 1] === "{") {
      push("param");
      return i + 1;
    }
    return i;
  }

  /** At `<<`: records the heredoc whose body starts after this line; returns the index of its word's end. */
  function heredocStart(i: number): number {
    let j = i + 2;
    const stripTabs = text[j] === "-";
    if (stripTabs) j++;
    while (text[j] === " " || text[j] === "\t") j++;
    let word = "";
    while (j < text.length && !WORD_END.has(text[j] ?? "") && text[j] !== "(") word += text[j++] ?? "";
    const quoted = /['"\\]/.test(word);
    pending.push({ delimiter: word.replace(/['"\\]/g, ""), quoted, stripTabs });
    return j - 1;
  }
}
