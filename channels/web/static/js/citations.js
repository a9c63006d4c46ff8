// An answer's trailing citation lines ("[1] Title, source (part 3)", the form the search_knowledge
// tool asks the model to end with) split from its body, so the chat shows them as footnotes. The
// same reading as the chat surfaces' Sources block (channels/story/citations.py). No DOM here.

const LINE = /^\s*(?:[-*]\s+)?\[(\d{1,3})\]:?\s+(\S.*?)\s*$/;
const PART = /\s*\(part \d+\)$/;
const MAX = 20;

export function parseCitation(line) {
  const match = LINE.exec(line);
  if (match === null) return null;
  const rest = match[2].replace(PART, "");
  const comma = rest.lastIndexOf(", ");
  const title = comma < 0 ? rest : rest.slice(0, comma).trim();
  const source = comma < 0 ? "" : rest.slice(comma + 2).trim();
  return { ref: Number(match[1]), title: title || source, source };
}

// { body, citations }: citations empty (and body the whole text) when the text ends in none.
export function splitCitations(text) {
  const lines = String(text ?? "").replace(/\s+$/, "").split("\n");
  const cited = [];
  for (let c; lines.length && (c = parseCitation(lines[lines.length - 1])) !== null; lines.pop()) {
    cited.unshift(c);
  }
  if (cited.length === 0 || cited.length > MAX) return { body: String(text ?? ""), citations: [] };
  return { body: lines.join("\n").replace(/\s+$/, ""), citations: cited };
}
