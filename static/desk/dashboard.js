// The dashboard's moderation buttons work in place: the form is posted with fetch and the
// comment's row says what happened. Without JavaScript the form posts and comes back.

import { postForm } from "./http.js";

const panel = document.getElementById("moderation");
const status = panel?.querySelector(".desk-status");

panel?.addEventListener("submit", async (event) => {
  const form = event.target.closest("form[data-moderate]");
  if (!form) return;
  event.preventDefault();
  const row = form.closest("li[data-comment]");
  row.querySelectorAll("button").forEach((b) => { b.disabled = true; });
  try {
    const data = await postForm(form.action, new FormData(form));
    row.replaceChildren(Object.assign(document.createElement("p"), {
      className: "desk-muted", textContent: data.message,
    }));
    status.textContent = data.message;
    const count = document.querySelector("[data-glance=awaiting-moderation]");
    if (count) count.textContent = data.pending;
  } catch (error) {
    status.textContent = error.message;
    row.querySelectorAll("button").forEach((b) => { b.disabled = false; });
  }
});
