// Keyboard help for the code editor (a plain text area): Tab indents, Shift+Tab dedents, Enter keeps the
// indentation (one level more after a colon), and Escape releases Tab so keyboard users can move on.
(() => {
  if (window.__interviewerEditorKeys) return;
  window.__interviewerEditorKeys = true;
  const INDENT = "    ";
  const setValue = (t, value, cursor) => {
    Object.getOwnPropertyDescriptor(HTMLTextAreaElement.prototype, "value").set.call(t, value);
    t.selectionStart = t.selectionEnd = cursor;
    t.dispatchEvent(new Event("input", { bubbles: true }));
  };
  document.addEventListener("keydown", (e) => {
    const t = e.target;
    if (!(t instanceof HTMLTextAreaElement) || t.getAttribute("aria-label") !== "Your solution (Python)") return;
    if (e.key === "Escape") { t.dataset.tabFree = "1"; return; }
    const v = t.value, s = t.selectionStart, end = t.selectionEnd;
    const lineStart = v.lastIndexOf("\n", s - 1) + 1;
    if (e.key === "Tab" && !t.dataset.tabFree) {
      e.preventDefault();
      if (e.shiftKey) {
        const lead = v.slice(lineStart).match(/^ {1,4}/);
        if (lead) setValue(t, v.slice(0, lineStart) + v.slice(lineStart + lead[0].length), Math.max(lineStart, s - lead[0].length));
      } else {
        setValue(t, v.slice(0, s) + INDENT + v.slice(end), s + INDENT.length);
      }
    } else if (e.key === "Enter" && !e.shiftKey && !e.ctrlKey && !e.metaKey) {
      const line = v.slice(lineStart, s);
      let indent = line.match(/^\s*/)[0];
      if (/:\s*$/.test(line)) indent += INDENT;
      e.preventDefault();
      setValue(t, v.slice(0, s) + "\n" + indent + v.slice(end), s + 1 + indent.length);
    } else if (e.key !== "Shift") {
      delete t.dataset.tabFree;
    }
  }, true);
})();
