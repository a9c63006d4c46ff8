// A tiny, safe Markdown subset for model output: fenced code blocks, inline code, bold, italics,
// http(s) links and line breaks. Model text is untrusted, so nothing here parses HTML: every
// piece of text becomes a Text node and the few elements used are created by name. Whatever
// does not match the subset (raw HTML, a javascript: link) stays visible as the text it is.

import { splitCitations } from "./citations.js";

const FENCE = /```[^\n`]*\n([\s\S]*?)(?:```|$)/g;
const INLINE = new RegExp(
  [
    /`([^`\n]+)`/.source, // inline code
    /\*\*([^\n]+?)\*\*/.source, // bold
    /(?<![\w*])\*([^*\n]+?)\*(?![\w*])/.source, // italics
    /(?<!\w)_([^_\n]+?)_(?!\w)/.source, // italics, not inside snake_case words
    /\[([^\]\n]+)\]\(([^()\s]+)\)/.source, // a link
    /\n/.source, // a line break
  ].join("|"),
  "g",
);

export function safeUrl(raw) {
  try {
    const url = new URL(raw); // relative URLs throw: only absolute ones get through
    return url.protocol === "http:" || url.protocol === "https:" ? url.href : null;
  } catch {
    return null;
  }
}

function element(tag, ...children) {
  const node = document.createElement(tag);
  node.append(...children);
  return node;
}

function inlineNode(match) {
  const [whole, code, bold, star, underscore, label, url] = match;
  if (code !== undefined) return element("code", code);
  if (bold !== undefined) return appendInline(element("strong"), bold);
  if (star !== undefined || underscore !== undefined) return appendInline(element("em"), star ?? underscore);
  if (label !== undefined) {
    const href = safeUrl(url);
    if (href === null) return document.createTextNode(whole);
    const link = appendInline(element("a"), label);
    link.href = href;
    link.rel = "noopener noreferrer nofollow";
    link.target = "_blank";
    return link;
  }
  return element("br");
}

function appendInline(parent, text) {
  let at = 0;
  for (const match of text.matchAll(INLINE)) {
    parent.append(text.slice(at, match.index), inlineNode(match));
    at = match.index + match[0].length;
  }
  parent.append(text.slice(at));
  return parent;
}

function appendParagraphs(parent, text) {
  for (const paragraph of text.split(/\n\s*\n/)) {
    const trimmed = paragraph.replace(/^\n+|\s+$/g, "");
    if (trimmed) parent.append(appendInline(element("p"), trimmed));
  }
}

export function renderMarkdown(text) {
  const { body: source, citations } = splitCitations(text);
  const out = document.createDocumentFragment();
  let at = 0;
  for (const match of source.matchAll(FENCE)) {
    appendParagraphs(out, source.slice(at, match.index));
    out.append(element("pre", element("code", match[1])));
    at = match.index + match[0].length;
  }
  appendParagraphs(out, source.slice(at));
  if (citations.length) out.append(footnotes(citations));
  return out;
}

// Trailing "[n] title, source" lines as footnotes: a link when the source is an http(s) URL,
// else the title with the path as code.
function footnotes(citations) {
  const list = element("ol", ...citations.map(footnote));
  list.className = "footnotes";
  return list;
}

function footnote({ ref, title, source }) {
  const item = element("li");
  item.value = ref;
  const href = safeUrl(source);
  if (href !== null) {
    const link = element("a", title);
    link.href = href;
    link.rel = "noopener noreferrer nofollow";
    link.target = "_blank";
    item.append(link);
  } else {
    item.append(title);
    if (source) item.append(" ", element("code", source));
  }
  return item;
}
