// Autosave and the post lock on the change form (blog/admin_autosave.py).
// About once a minute the editor's unsaved text goes to the server (one autosave per post
// and writer, not a revision) and the lock is renewed; when the tab is hidden it is sent
// at once. An autosave newer than the saved post is offered back; if someone takes the
// post over, this editor is told.
// On "Add post" (data-autosave-new) the first autosave creates the post as a draft
// (WordPress's auto-draft): the form then saves that draft, the address bar shows its
// change form, and later autosaves are autosaves of it, so a closed tab loses nothing.

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

function becomeDraft(form, data) {
  // The add form now edits the draft it created: saving it must not make a second post.
  form.action = data.change_url;
  history.replaceState(history.state, "", data.change_url);
  box.dataset.autosaveUrl = data.autosave_url;
  delete box.dataset.autosaveNew;
}

if (box) {
  const form = box.closest("form");
  let url = box.dataset.autosaveUrl;
  let isNew = "autosaveNew" in box.dataset;
  const seconds = Number(box.dataset.autosaveSeconds) || 60;
  const status = box.querySelector(".desk-autosave-status");
  let last = JSON.stringify(snapshot());
  let submitting = false;
  let busy = false; // one request at a time: two first beats would make two drafts

  async function beat({ keepalive = false } = {}) {
    if (submitting || busy) return;
    const now = snapshot();
    const changed = JSON.stringify(now) !== last;
    if (isNew && !changed) return; // nothing typed yet: no post, no lock to renew
    const fields = changed ? now : {};
    if (isNew) fields.body_format = field("id_body_format")?.value ?? "markdown";
    busy = true;
    try {
      const data = await postForm(url, fields, { keepalive });
      if (isNew) {
        becomeDraft(form, data);
        url = data.autosave_url;
        isNew = false;
      }
      if (changed) {
        last = JSON.stringify(now);
        status.textContent = `Draft autosaved at ${new Date(data.saved_at).toLocaleTimeString()}.`;
      }
      if (data.locked_by) warnTakenOver(data.locked_by);
    } catch (error) {
      status.textContent = `Autosave failed: ${error.message}`;
    } finally {
      busy = false;
    }
  }

  setInterval(beat, seconds * 1000);
  document.addEventListener("visibilitychange", () => {
    if (document.visibilityState === "hidden") beat({ keepalive: true });
  });
  form.addEventListener("submit", () => { submitting = true; });

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
