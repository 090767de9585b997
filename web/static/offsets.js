// Offsets: the API counts Unicode code points of the normalised version
// text (CRLF -> LF, NFC); JavaScript strings index UTF-16 code units. A
// citation read from the API carries both (version_start_utf16,
// length_utf16); these convert when only code points are at hand.

// utf16Offset returns the UTF-16 index of code point offset cp in text.
export function utf16Offset(text, cp) {
  let i = 0;
  for (let n = 0; n < cp && i < text.length; n++) {
    i += text.codePointAt(i) > 0xffff ? 2 : 1;
  }
  return i;
}

// utf16Span returns [start, end) in UTF-16 units of the code point span
// starting at cp of length code points.
export function utf16Span(text, cp, length) {
  const start = utf16Offset(text, cp);
  let end = start;
  for (let n = 0; n < length && end < text.length; n++) {
    end += text.codePointAt(end) > 0xffff ? 2 : 1;
  }
  return [start, end];
}
