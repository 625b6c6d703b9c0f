// Autosave and the post lock on the change form (blog/admin_autosave.py).
// About once a minute the editor's unsaved text goes to the server (one autosave per post
// and writer, not a revision) and the lock is renewed; when the tab is hidden it is sent
// at once. An autosave newer than the saved post is offered back; if someone takes the
// post over, this editor is told.

import { getJSON, postForm } from "./http.js";

const box = document.querySelector("[data-autosave-url]");

function field(id) {
  return document.getElementById(id);
}

function bodyValue() {
  const textarea = field("id_body");
  return textarea?.deskEditor ? textarea.deskEditor.value() : textarea?.value ?? "";
}

function snapshot() {
  return {
    title: field("id_title")?.value ?? "",
    body: bodyValue(),
    excerpt: field("id_excerpt")?.value ?? "",
  };
}

function warnTakenOver(name) {
  let notice = document.querySelector("[data-post-lock]");
  if (!notice) {
    notice = document.createElement("div");
    notice.className = "desk-notice desk-notice-warning";
    notice.setAttribute("role", "alert");
    notice.dataset.postLock = "";
    box.before(notice);
  }
  notice.textContent = `${name} has taken over this post and is editing it now.`;
}

if (box) {
  const url = box.dataset.autosaveUrl;
  const seconds = Number(box.dataset.autosaveSeconds) || 60;
  const status = box.querySelector(".desk-autosave-status");
  let last = JSON.stringify(snapshot());
  let submitting = false;

  async function beat({ keepalive = false } = {}) {
    if (submitting) return;
    const now = snapshot();
    const changed = JSON.stringify(now) !== last;
    const fields = changed ? now : {};
    try {
      const data = await postForm(url, fields, { keepalive });
      if (changed) {
        last = JSON.stringify(now);
        status.textContent = `Draft autosaved at ${new Date(data.saved_at).toLocaleTimeString()}.`;
      }
      if (data.locked_by) warnTakenOver(data.locked_by);
    } catch (error) {
      status.textContent = `Autosave failed: ${error.message}`;
    }
  }

  setInterval(beat, seconds * 1000);
  document.addEventListener("visibilitychange", () => {
    if (document.visibilityState === "hidden") beat({ keepalive: true });
  });
  box.closest("form").addEventListener("submit", () => { submitting = true; });

  box.querySelector("[data-autosave-restore]")?.addEventListener("click", async () => {
    const { autosave } = await getJSON(url);
    if (!autosave) return;
    field("id_title").value = autosave.title;
    if (field("id_excerpt")) field("id_excerpt").value = autosave.excerpt;
    const textarea = field("id_body");
    if (textarea.deskEditor) textarea.deskEditor.value(autosave.body);
    else textarea.value = autosave.body;
    box.querySelector("[data-autosave-offer]").replaceChildren(
      Object.assign(document.createElement("p"), {
        textContent: "The autosave is back in the form. Save to keep it.",
      }),
    );
  });
}
