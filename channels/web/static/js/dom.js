// Small DOM helpers. Text always goes in as Text nodes (never parsed as HTML), and no attribute
// named on* is ever set: event handlers are attached with addEventListener only.

export function h(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(props)) {
    if (value === undefined || value === null || value === false) continue;
    if (name === "on") {
      for (const [type, handler] of Object.entries(value)) node.addEventListener(type, handler);
    } else if (name === "class") {
      node.className = value;
    } else if (name.startsWith("on")) {
      throw new Error(`refusing to set ${name}`);
    } else {
      node.setAttribute(name, value === true ? "" : String(value));
    }
  }
  node.append(...children.flat().filter((c) => c !== null && c !== undefined && c !== false));
  return node;
}

export function clear(node) {
  node.replaceChildren();
  return node;
}

// An ISO-8601 string or epoch seconds, in the reader's locale.
export function when(value) {
  if (value === null || value === undefined) return "";
  const date = typeof value === "number" ? new Date(value * 1000) : new Date(value);
  return Number.isNaN(date.getTime()) ? String(value) : date.toLocaleString();
}

export function pretty(value) {
  return JSON.stringify(value, null, 2);
}

export function jsonBlock(value, label) {
  return h("pre", { class: "json", "aria-label": label }, pretty(value));
}

// A <dl> from [term, description] pairs; descriptions may be nodes or text.
export function facts(pairs) {
  const list = h("dl", { class: "facts" });
  for (const [term, value] of pairs) {
    if (value === undefined || value === null || value === "") continue;
    list.append(h("dt", {}, term), h("dd", {}, value));
  }
  return list;
}

export function sleep(ms, signal) {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener("abort", () => {
      clearTimeout(timer);
      resolve();
    });
  });
}

export function money(usd) {
  return `$${Number(usd || 0).toFixed(4)}`;
}
