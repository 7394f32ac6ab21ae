// @ts-check
/**
 * Checking settings.json text before it is saved.
 *
 * JSON.parse decides whether the text is valid, but browsers word its errors
 * differently and some give no position at all. When it fails we run a small
 * validating scanner of our own to say where and why, in plain words, so the
 * editor can point at the line and column.
 */

class JsonProblem {
  constructor(position, reason) {
    this.position = position;
    this.reason = reason;
  }
}

function describeChar(c) {
  if (c === undefined) return 'the end of the text';
  if (c === '\n') return 'a line break';
  return `'${c}'`;
}

/** Returns {position, reason} for the first error in `text`, or null if it is valid. */
export function locateJsonError(text) {
  let i = 0;
  const fail = (reason) => {
    throw new JsonProblem(i, reason);
  };
  const ws = () => {
    while (i < text.length && (text[i] === ' ' || text[i] === '\t' || text[i] === '\n' || text[i] === '\r')) i += 1;
  };
  const string = () => {
    i += 1; // opening quote
    while (i < text.length) {
      const c = text[i];
      if (c === '"') {
        i += 1;
        return;
      }
      if (c === '\\') {
        const next = text[i + 1];
        if (next !== undefined && '"\\/bfnrt'.includes(next)) i += 2;
        else if (next === 'u' && /^[0-9a-fA-F]{4}$/.test(text.slice(i + 2, i + 6))) i += 6;
        else fail('a backslash starts an escape that JSON does not know');
      } else if (c < ' ') {
        fail('a string holds a raw control character (a line break or tab must be written \\n or \\t)');
      } else {
        i += 1;
      }
    }
    fail('a string is not closed with "');
  };
  const number = () => {
    const re = /-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?/y;
    re.lastIndex = i;
    const m = re.exec(text);
    if (!m || m[0] === '-') fail('a number is not written the JSON way');
    i = re.lastIndex;
  };
  let value;
  const object = () => {
    i += 1;
    ws();
    if (text[i] === '}') {
      i += 1;
      return;
    }
    for (;;) {
      ws();
      if (text[i] !== '"') fail(`expected a property name in double quotes, found ${describeChar(text[i])}`);
      string();
      ws();
      if (text[i] !== ':') fail(`expected ':' after the property name, found ${describeChar(text[i])}`);
      i += 1;
      value();
      ws();
      if (text[i] === ',') {
        i += 1;
        ws();
        if (text[i] === '}') fail("a comma before '}' (JSON allows no trailing comma)");
        continue;
      }
      if (text[i] === '}') {
        i += 1;
        return;
      }
      fail(`expected ',' or '}' after a property value, found ${describeChar(text[i])}`);
    }
  };
  const array = () => {
    i += 1;
    ws();
    if (text[i] === ']') {
      i += 1;
      return;
    }
    for (;;) {
      value();
      ws();
      if (text[i] === ',') {
        i += 1;
        ws();
        if (text[i] === ']') fail("a comma before ']' (JSON allows no trailing comma)");
        continue;
      }
      if (text[i] === ']') {
        i += 1;
        return;
      }
      fail(`expected ',' or ']' after a list item, found ${describeChar(text[i])}`);
    }
  };
  value = () => {
    ws();
    const c = text[i];
    if (c === '{') return object();
    if (c === '[') return array();
    if (c === '"') return string();
    if (c === '-' || (c >= '0' && c <= '9')) return number();
    for (const literal of ['true', 'false', 'null']) {
      if (text.startsWith(literal, i)) {
        i += literal.length;
        return undefined;
      }
    }
    if (c === "'") fail('strings must use double quotes, not single quotes');
    return fail(`expected a value, found ${describeChar(c)}`);
  };

  try {
    value();
    ws();
    if (i < text.length) fail(`unexpected ${describeChar(text[i])} after the end of the JSON`);
    return null;
  } catch (err) {
    if (err instanceof JsonProblem) return { position: err.position, reason: err.reason };
    return null; // e.g. absurd nesting overflowing the stack: no position to offer
  }
}

/** 1-based line and column of a character offset. */
export function lineColumn(text, position) {
  const before = text.slice(0, position);
  const line = before.split('\n').length;
  const column = position - before.lastIndexOf('\n');
  return { line, column };
}

/**
 * Checks text meant for settings.json.
 * @returns {{value?: object, error?: string, position?: number, line?: number, column?: number}}
 */
export function checkSettingsJson(text) {
  if (!text.trim()) {
    return { error: 'The settings are empty. settings.json must hold a JSON object, like { }.', position: 0 };
  }
  let value;
  try {
    value = JSON.parse(text);
  } catch (err) {
    const found = locateJsonError(text);
    if (found) {
      const { line, column } = lineColumn(text, found.position);
      return {
        error: `Invalid JSON at line ${line}, column ${column}: ${found.reason}.`,
        position: found.position,
        line,
        column,
      };
    }
    // JSON.parse throws only SyntaxError.
    return { error: `Invalid JSON: ${/** @type {SyntaxError} */ (err).message}` };
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    const kind = value === null ? 'null' : Array.isArray(value) ? 'a list' : `a ${typeof value}`;
    return { error: `settings.json must hold a JSON object ({ … }), not ${kind}.`, position: 0 };
  }
  return { value };
}

/** Pretty-prints JSON text with 4 spaces (as SillyTavern writes settings.json); returns null if invalid. */
export function formatJson(text) {
  try {
    return JSON.stringify(JSON.parse(text), null, 4);
  } catch {
    return null;
  }
}
