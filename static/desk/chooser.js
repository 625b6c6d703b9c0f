// The media chooser: a modal <dialog> over the library (thumbnail grid, search, month, "only
// mine" for editors, upload), and the alt-text question. A native modal dialog keeps focus
// inside and closes on Escape; arrow keys move between thumbnails, Enter picks one.
//
// openChooser(...) resolves to {item, alt, altNotSaved} or null when closed without a choice.
// Alt text asked for here is saved on the item (POST alt_text_url) unless that is refused:
// then altNotSaved says why.

import { getJSON, postForm, uploadFile } from "./http.js";

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === false || value === null || value === undefined) continue;
    if (name === "text") node.textContent = value;
    else node.setAttribute(name, value === true ? "" : value);
  }
  node.append(...children);
  return node;
}

let counter = 0;

// Ask for an image's description; resolves to the text, or null when cancelled.
export function askAltText({ title = "Describe the image", name = "", initial = "" } = {}) {
  const id = `desk-alt-${++counter}`;
  const input = el("input", { type: "text", id, maxlength: "300", autocomplete: "off" });
  input.value = initial;
  const dialog = el(
    "dialog",
    { class: "desk-dialog desk-alt-dialog", "aria-labelledby": `${id}-title` },
    el(
      "form",
      { method: "dialog" },
      el("h2", { id: `${id}-title`, text: title }),
      name ? el("p", { class: "desk-muted", text: name }) : "",
      el("label", { for: id, text: "Alternative text" }),
      input,
      el("p", {
        class: "help",
        text: "What the image shows, for people who cannot see it. Leave empty only for decoration.",
      }),
      el(
        "div",
        { class: "desk-dialog-actions" },
        el("button", { type: "submit", value: "ok", class: "button default", text: "Insert" }),
        el("button", { type: "submit", value: "cancel", class: "button", text: "Cancel" }),
      ),
    ),
  );
  document.body.append(dialog);
  return new Promise((resolve) => {
    dialog.addEventListener("close", () => {
      const ok = dialog.returnValue === "ok";
      dialog.remove();
      resolve(ok ? input.value.trim() : null);
    });
    dialog.showModal();
    input.focus();
  });
}

function arrowNavigation(grid) {
  grid.addEventListener("keydown", (event) => {
    const buttons = [...grid.querySelectorAll("button[data-id]")];
    const index = buttons.indexOf(document.activeElement);
    if (index < 0) return;
    const top = buttons[0].offsetTop;
    const perRow = Math.max(1, buttons.filter((b) => b.offsetTop === top).length);
    const moves = {
      ArrowRight: 1, ArrowLeft: -1, ArrowDown: perRow, ArrowUp: -perRow,
      Home: -index, End: buttons.length - 1 - index,
    };
    if (!(event.key in moves)) return;
    event.preventDefault();
    const next = buttons[Math.min(buttons.length - 1, Math.max(0, index + moves[event.key]))];
    buttons.forEach((b) => b.setAttribute("tabindex", b === next ? "0" : "-1"));
    next.focus();
  });
}

export function openChooser({ chooserUrl, uploadUrl = "", title = "Add media", askAlt = true }) {
  const id = `desk-chooser-${++counter}`;
  const search = el("input", { type: "search", id: `${id}-q`, placeholder: "Title, alt text, caption" });
  const month = el("select", { id: `${id}-month` }, el("option", { value: "", text: "All dates" }));
  const mine = el("input", { type: "checkbox", id: `${id}-mine` });
  const mineLabel = el("label", { for: `${id}-mine`, class: "desk-inline", hidden: true }, mine, " Only mine");
  const file = el("input", { type: "file", accept: "image/jpeg,image/png,image/gif,image/webp", hidden: true, "data-chooser-file": true });
  const uploadButton = el("button", { type: "button", class: "button", text: "Upload a file…", hidden: !uploadUrl });
  const status = el("p", { class: "desk-chooser-status", role: "status", "aria-live": "polite" });
  const grid = el("ul", { class: "desk-chooser-grid", "aria-label": "Media library" });
  const more = el("button", { type: "button", class: "button", text: "Show more", hidden: true });
  const dialog = el(
    "dialog",
    { class: "desk-dialog desk-chooser", "aria-labelledby": `${id}-title` },
    el(
      "form",
      { method: "dialog", class: "desk-chooser-head" },
      el("h2", { id: `${id}-title`, text: title }),
      el("button", { type: "submit", value: "cancel", class: "desk-close", "aria-label": "Close", text: "×" }),
    ),
    el(
      "div",
      { class: "desk-chooser-filters", role: "search" },
      el("span", { class: "desk-field desk-field-grow" }, el("label", { for: search.id, text: "Search" }), search),
      el("span", { class: "desk-field" }, el("label", { for: month.id, text: "Date" }), month),
      mineLabel, uploadButton, file,
    ),
    status, grid, more,
  );
  document.body.append(dialog);
  arrowNavigation(grid);

  let page = 1;
  let loading = null;
  let chosen = null;

  function tile(item) {
    const label = item.alt_text ? `${item.title}: ${item.alt_text}` : item.title;
    const button = el(
      "button",
      { type: "button", "data-id": item.id, "aria-label": label, tabindex: "-1" },
      el("img", { src: item.thumbnail, alt: "", width: "150", height: "150", loading: "lazy" }),
      el("span", { text: item.title }),
    );
    button.addEventListener("click", () => pick(item));
    return el("li", {}, button);
  }

  async function load({ append = false } = {}) {
    loading?.abort();
    loading = new AbortController();
    const params = { q: search.value, month: month.value, page: String(page) };
    if (mine.checked) params.mine = "1";
    status.textContent = "Loading…";
    let data;
    try {
      data = await getJSON(chooserUrl, params, { signal: loading.signal });
    } catch (error) {
      if (error.name !== "AbortError") status.textContent = error.message;
      return;
    }
    mineLabel.hidden = !data.sees_all;
    if (month.options.length === 1) {
      for (const m of data.months) month.append(el("option", { value: m.value, text: m.label }));
    }
    if (!append) grid.replaceChildren();
    grid.append(...data.items.map(tile));
    const first = grid.querySelector("button[data-id]");
    if (first && !grid.querySelector("button[tabindex='0']")) first.setAttribute("tabindex", "0");
    more.hidden = !data.has_next;
    status.textContent = data.total
      ? `${data.total} image${data.total === 1 ? "" : "s"}.`
      : "No images match. Upload one, or change the search.";
  }

  async function pick(item) {
    let alt = item.alt_text;
    let altNotSaved = "";
    if (askAlt && !alt) {
      alt = await askAltText({ name: item.title });
      if (alt === null) return; // back to the grid
      // Kept on the item, so the next writer who picks it is not asked again.
      if (alt && item.alt_text_url) {
        try {
          await postForm(item.alt_text_url, { alt_text: alt });
        } catch (error) {
          altNotSaved = error.message; // the post still gets it; the library does not
        }
      }
    }
    chosen = { item, alt, altNotSaved };
    dialog.close("chosen");
  }

  let typing;
  search.addEventListener("input", () => {
    clearTimeout(typing);
    typing = setTimeout(() => { page = 1; load(); }, 250);
  });
  month.addEventListener("change", () => { page = 1; load(); });
  mine.addEventListener("change", () => { page = 1; load(); });
  more.addEventListener("click", () => { page += 1; load({ append: true }); });
  uploadButton.addEventListener("click", () => file.click());
  file.addEventListener("change", async () => {
    const picked = file.files[0];
    if (!picked) return;
    status.textContent = `Uploading ${picked.name}…`;
    try {
      const item = await uploadFile(uploadUrl, picked);
      status.textContent = `${picked.name} uploaded.`;
      await pick({ ...item, title: item.title || picked.name, thumbnail: item.url });
    } catch (error) {
      status.textContent = error.message;
    }
    file.value = "";
  });

  return new Promise((resolve) => {
    dialog.addEventListener("close", () => {
      loading?.abort();
      dialog.remove();
      resolve(chosen);
    });
    dialog.showModal();
    search.focus();
    load();
  });
}
