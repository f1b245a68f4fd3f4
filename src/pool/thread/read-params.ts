// A task function's declared parameters, read in the worker thread from the source text
// Function.prototype.toString gives: how many arguments a send must pass (Celery checks a
// call against the task's signature). When the text cannot be read with certainty the
// answer is undefined and sends are not checked: refusing a good call is worse.
import type { TaskParams } from '../../registry/types.js';

const IDENT = /^(?:async\s+)?([\p{L}\p{Nl}$_][\p{L}\p{Nl}\p{Mn}\p{Mc}\p{Nd}\p{Pc}$\u200c\u200d]*)\s*=>/u;
/**
 * IDENT on text of printable ASCII: the same matches there. Compiling IDENT's Unicode
 * classes is most of a thread's first readParams() call, so it is used only on other text.
 */
const IDENT_ASCII = /^(?:async\s+)?([A-Za-z$_][\w$]*)\s*=>/;
const BEYOND_ASCII = /[^\t\n\r -~]/;

/** Where the string, template, comment or regex literal starting at `i` ends; `i` when none starts there. */
function skipLiteral(src: string, i: number, regexAllowed: boolean): number {
  const c = src[i];
  const next = src[i + 1];
  if (c === '"' || c === "'") {
    for (let j = i + 1; j < src.length; j++) {
      if (src[j] === '\\') j++;
      else if (src[j] === c) return j + 1;
      else if (src[j] === '\n') return -1;
    }
    return -1;
  }
  if (c === '`') {
    for (let j = i + 1; j < src.length; j++) {
      if (src[j] === '\\') j++;
      else if (src[j] === '`') return j + 1;
      else if (src[j] === '$' && src[j + 1] === '{') {
        const end = matching(src, j + 1);
        if (end < 0) return -1;
        j = end;
      }
    }
    return -1;
  }
  if (c === '/' && next === '/') {
    const end = src.indexOf('\n', i);
    return end < 0 ? src.length : end;
  }
  if (c === '/' && next === '*') {
    const end = src.indexOf('*/', i + 2);
    return end < 0 ? -1 : end + 2;
  }
  if (c === '/' && regexAllowed) {
    let inClass = false;
    for (let j = i + 1; j < src.length; j++) {
      const d = src[j];
      if (d === '\\') j++;
      else if (d === '[') inClass = true;
      else if (d === ']') inClass = false;
      else if (d === '/' && !inClass) {
        let k = j + 1;
        while (k < src.length && /[a-z]/i.test(src[k]!)) k++;
        return k;
      } else if (d === '\n') return -1;
    }
    return -1;
  }
  return i;
}

/** After this character a `/` starts a regex literal rather than a division. */
const BEFORE_REGEX = /[(,=:[!&|?{};+\-*%<>~^]/;

const END = -1;
const FAULT = -2;

/**
 * Walk the code from `from`, calling `visit` for each character outside literals and
 * comments with the bracket depth before it. Returns the index where `visit` returned
 * true, END at the end with every bracket closed, FAULT on an unterminated literal or
 * unbalanced brackets.
 */
function walk(src: string, from: number, visit: (i: number, depth: number) => boolean): number {
  let depth = 0;
  let last = '(';
  for (let i = from; i < src.length; i++) {
    const end = skipLiteral(src, i, BEFORE_REGEX.test(last));
    if (end < 0) return FAULT;
    if (end > i) {
      // a comment leaves the previous significant character as it was
      if (src[i] !== '/' || (src[i + 1] !== '/' && src[i + 1] !== '*')) last = 'x';
      i = end - 1;
      continue;
    }
    const c = src[i]!;
    if (visit(i, depth)) return i;
    if (c === '(' || c === '[' || c === '{') depth++;
    else if (c === ')' || c === ']' || c === '}') {
      depth--;
      if (depth < 0) return FAULT;
    }
    if (!/\s/.test(c)) last = c;
  }
  return depth === 0 ? END : FAULT;
}

/** The index of the bracket closing the one at `open`. */
function matching(src: string, open: number): number {
  return walk(src, open, (i, depth) => i > open && depth === 1 && /[)\]}]/.test(src[i]!));
}

/** Split a parameter list on its top-level commas; undefined when it cannot be read. */
function splitParams(text: string): string[] | undefined {
  const parts: string[] = [];
  let start = 0;
  const end = walk(text, 0, (i, depth) => {
    if (depth === 0 && text[i] === ',') {
      parts.push(text.slice(start, i));
      start = i + 1;
    }
    return false;
  });
  if (end !== END) return undefined;
  parts.push(text.slice(start));
  const cleaned = parts.map(stripComments).map((p) => p.trim());
  if (cleaned.length && cleaned[cleaned.length - 1] === '') cleaned.pop(); // trailing comma
  if (cleaned.some((p) => p === '')) return undefined;
  return cleaned;
}

function stripComments(text: string): string {
  let out = '';
  for (let i = 0; i < text.length; i++) {
    if (text[i] === '/' && (text[i + 1] === '/' || text[i + 1] === '*')) {
      const end = skipLiteral(text, i, false);
      if (end < 0) return text;
      out += ' ';
      i = end - 1;
      continue;
    }
    const end = skipLiteral(text, i, false);
    if (end > i) {
      out += text.slice(i, end);
      i = end - 1;
    } else out += text[i];
  }
  return out;
}

/** Whether the parameter has a default value: an `=` at its top level (not `==`, `=>`, `<=`...). */
function hasDefault(param: string): boolean {
  return (
    walk(param, 0, (i, depth) => {
      if (depth !== 0 || param[i] !== '=') return false;
      const before = param[i - 1] ?? '';
      const after = param[i + 1] ?? '';
      return after !== '=' && after !== '>' && !'=!<>'.includes(before);
    }) >= 0
  );
}

/** The parameter list's text and the body's, or undefined for a form not read here. */
function parts(src: string): { params: string; body: string } | undefined {
  const single = IDENT_ASCII.exec(src) ?? (BEYOND_ASCII.test(src) ? IDENT.exec(src) : null);
  if (single) return { params: single[1]!, body: src.slice(single[0].length) };
  // The parameter list opens at the first "(" outside brackets: after `function name`,
  // `async`, a method name, a computed name `[key]`, `*` or `get`/`set`.
  const open = walk(src, 0, (i, depth) => depth === 0 && (src[i] === '(' || src[i] === '{' || src.startsWith('=>', i)));
  if (open < 0 || src[open] !== '(') return undefined;
  const head = src.slice(0, open);
  if (/^\s*class\b/.test(head)) return undefined;
  const close = matching(src, open);
  if (close < 0) return undefined;
  return { params: src.slice(open + 1, close), body: src.slice(close + 1) };
}

/** The declared parameters of `fn`, or undefined when they cannot be read with certainty. */
export function readParams(fn: (...args: never[]) => unknown): TaskParams | undefined {
  let src: string;
  try {
    src = Function.prototype.toString.call(fn).trim();
  } catch {
    return undefined;
  }
  if (/\{\s*\[native code\]\s*\}$/.test(src)) return undefined; // bound or built-in
  const found = parts(src);
  if (!found) return undefined;
  const list = splitParams(found.params);
  if (!list) return undefined;
  let min = list.length;
  let rest = false;
  for (const [i, p] of list.entries()) {
    const isRest = p.startsWith('...');
    if (isRest && i !== list.length - 1) return undefined;
    if ((isRest || hasDefault(p)) && min === list.length) min = i;
    rest ||= isRest;
  }
  // The engine's own count: a disagreement means the text was not read as the engine reads it.
  if (min !== fn.length) return undefined;
  const usesArguments = /\barguments\b/.test(found.body);
  return { list: list.map((p) => p.replace(/\s+/g, ' ')), min, max: rest || usesArguments ? null : list.length };
}

const TYPESCRIPT_FILE = /\.[cm]?tsx?$/;
const IDENTIFIER = /^[A-Za-z_$][\w$]*$/;
const escapeRegExp = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
const word = (name: string) => `(?<![\\w$])${escapeRegExp(name)}(?![\\w$])`;

/**
 * TypeScript erases an optional parameter (`greeting?: string`) to a plain one, so the
 * compiled text reads as if it were required. For a task in a TypeScript module, the
 * module's own text decides: a parameter it writes as `name?` lowers the minimum to that
 * parameter, and a function whose parameter names do not appear there in order (defined
 * in another file) has no minimum at all. It only ever lowers the minimum, so that a
 * task's optional parameters are not refused as missing.
 */
export function allowErasedOptionals(params: TaskParams, file: string, source: string | undefined): TaskParams {
  if (!TYPESCRIPT_FILE.test(file) || params.min === 0) return params;
  if (source === undefined) return { ...params, min: 0 };
  const required = params.list.slice(0, params.min);
  const names = required.filter((p) => IDENTIFIER.test(p));
  if (names.length > 0 && !new RegExp(names.map(word).join('[\\s\\S]*?')).test(source)) return { ...params, min: 0 };
  for (const [i, p] of required.entries()) {
    if (IDENTIFIER.test(p) && new RegExp(`${word(p)}\\s*\\?\\s*[:,)=]`).test(source)) return { ...params, min: i };
  }
  return params;
}
