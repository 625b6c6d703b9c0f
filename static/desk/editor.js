// The post and page body: EasyMDE (static/vendor/easymde-*) over the textarea, with
// - a live preview rendered by the server, by the code that renders the public page;
// - "Add media" (toolbar, Ctrl-Alt-M): the chooser inserts ![alt](media:N) at the cursor;
// - images dropped or pasted into the text uploaded to the library, alt text asked first,
//   and inserted where they were dropped (or at the cursor when pasted);
// - a word count in the status bar.
// Keyboard: the toolbar is one tab stop (arrow keys move along it); Tab leaves the text
// (Ctrl-] and Ctrl-[ indent), so the editor is never a keyboard trap.

import { askAltText, openChooser } from "./chooser.js";
import { markdownImage, postForm, uploadFile } from "./http.js";

const PREVIEW_DELAY_MS = 300;

function statusLine(container) {
  const line = document.createElement("p");
  line.className = "desk-editor-status";
  line.setAttribute("role", "status");
  line.setAttribute("aria-live", "polite");
  container.after(line);
  return line;
}

function serverPreview(textarea, say) {
  const url = textarea.dataset.previewUrl;
  const format = document.getElementById("id_body_format");
  let timer;
  let inflight;
  let last = "<p class='desk-muted'>Rendering the preview…</p>";
  return function previewRender(text, target) {
    clearTimeout(timer);
    timer = setTimeout(async () => {
      inflight?.abort();
      inflight = new AbortController();
      try {
        const data = await postForm(
          url,
          { body: text, body_format: format ? format.value : "markdown" },
          { signal: inflight.signal },
        );
        last = data.html || "<p class='desk-muted'>Nothing to preview yet.</p>";
        target.innerHTML = last; // sanitized by the server, as on the public page
        target.classList.add("entry-content");
        say(data.warnings.join(" "));
      } catch (error) {
        if (error.name !== "AbortError") say(`Preview failed: ${error.message}`);
      }
    }, PREVIEW_DELAY_MS);
    return last;
  };
}

function keyboardToolbar(toolbar) {
  toolbar.setAttribute("role", "toolbar");
  toolbar.setAttribute("aria-label", "Formatting");
  const buttons = () => [...toolbar.querySelectorAll("button")].filter((b) => b.offsetParent);
  buttons().forEach((b, i) => b.setAttribute("tabindex", i === 0 ? "0" : "-1"));
  toolbar.addEventListener("keydown", (event) => {
    const list = buttons();
    const index = list.indexOf(document.activeElement);
    const step = { ArrowRight: 1, ArrowLeft: -1 }[event.key];
    if (index < 0 || !step) return;
    event.preventDefault();
    const next = list[(index + step + list.length) % list.length];
    list.forEach((b) => b.setAttribute("tabindex", b === next ? "0" : "-1"));
    next.focus();
  });
}

function setUp(textarea) {
  if (!window.EasyMDE) return; // the vendored script failed to load: the textarea still works
  const chooserUrl = textarea.dataset.chooserUrl;
  const uploadUrl = textarea.dataset.uploadUrl;
  let editor;
  let say = () => {};
  let dropMark = null; // where the last file was dropped: a bookmark that follows edits

  function insert(markdown, mark = null) {
    const cm = editor.codemirror;
    const at = mark?.find();
    if (at) {
      cm.replaceRange(markdown, at);
      cm.setCursor(mark.find()); // insertLeft: the mark is now after the snippet
    } else {
      cm.replaceSelection(markdown);
    }
    cm.focus();
  }

  // EasyMDE cancels the drop (so CodeMirror never moves the cursor there) and hands the
  // files to uploadDropped without the event: note the drop point first, in the capture
  // phase, with CodeMirror's coordsChar (a textarea has no caret-from-point).
  function noteDropPoint(cm) {
    const wrapper = cm.getWrapperElement();
    wrapper.addEventListener("drop", (event) => {
      if (!event.dataTransfer?.files?.length) return;
      dropMark?.clear();
      const at = cm.coordsChar({ left: event.clientX, top: event.clientY }, "window");
      dropMark = cm.setBookmark(at, { insertLeft: true });
    }, true);
    wrapper.addEventListener("paste", () => {
      dropMark?.clear();
      dropMark = null;
    }, true);
  }

  async function addMedia() {
    const choice = await openChooser({ chooserUrl, uploadUrl, title: "Add media" });
    if (!choice) {
      editor.codemirror.focus();
      return;
    }
    insert(markdownImage(choice.alt, choice.item.id));
    if (choice.altNotSaved) say(`The alt text is in the post but not in the library: ${choice.altNotSaved}`);
  }

  async function uploadDropped(file, _onSuccess, onError) {
    const mark = dropMark; // several files dropped at once all go to the same place
    if (!uploadUrl) {
      onError("You may not upload images; ask an author or an editor to add it for you.");
      return;
    }
    const alt = await askAltText({ title: "Describe the image you added", name: file.name });
    if (alt === null) {
      say(`${file.name} was not uploaded.`);
      return;
    }
    say(`Uploading ${file.name}…`);
    try {
      const item = await uploadFile(uploadUrl, file, { altText: alt });
      insert(markdownImage(item.alt_text || alt, item.id), mark);
      say(`${file.name} uploaded and inserted.`);
    } catch (error) {
      onError(`${file.name}: ${error.message}`);
    }
  }

  const toolbar = [
    "bold", "italic", "heading", "|", "quote", "unordered-list", "ordered-list", "|", "link",
  ];
  if (chooserUrl) {
    toolbar.push({
      name: "add-media",
      action: addMedia,
      className: "fa fa-picture-o",
      title: "Add media (Ctrl-Alt-M)",
    });
  }
  toolbar.push("table", "horizontal-rule", "|", "preview", "side-by-side", "fullscreen");

  editor = new window.EasyMDE({
    element: textarea,
    autoDownloadFontAwesome: false,
    spellChecker: false,
    nativeSpellcheck: true,
    forceSync: true,
    sideBySideFullscreen: false,
    minHeight: "320px",
    status: ["words", "lines"],
    toolbar,
    uploadImage: true,
    imageAccept: "image/jpeg, image/png, image/gif, image/webp",
    imageUploadFunction: uploadDropped,
    errorCallback: (message) => say(message),
    previewRender: serverPreview(textarea, (message) => say(message)),
    shortcuts: { togglePreview: "Ctrl-Alt-P", toggleSideBySide: "F9" },
  });
  const container = editor.codemirror.getWrapperElement().closest(".EasyMDEContainer");
  const line = statusLine(container);
  say = (message) => { line.textContent = message; };
  const cm = editor.codemirror;
  noteDropPoint(cm);
  cm.setOption("extraKeys", {
    ...cm.getOption("extraKeys"),
    Tab: false,
    "Shift-Tab": false,
    ...(chooserUrl ? { "Ctrl-Alt-M": addMedia } : {}),
  });
  cm.getInputField().setAttribute("aria-label", textarea.labels[0]?.textContent || "Body");
  keyboardToolbar(container.querySelector(".editor-toolbar"));
  textarea.deskEditor = editor; // for autosave.js
  textarea.dispatchEvent(new CustomEvent("desk:editor-ready", { bubbles: true }));
}

document.querySelectorAll("textarea[data-markdown-editor]").forEach(setUp);
