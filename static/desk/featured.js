// The featured image field (blog/admin_editor.py FeaturedImageWidget): choose from the
// library in the chooser, see the thumbnail, remove it.

import { openChooser } from "./chooser.js";

function setUp(widget) {
  const input = widget.querySelector("input[type=hidden]");
  const figure = widget.querySelector("figure");
  const img = figure.querySelector("img");
  const caption = figure.querySelector("figcaption");
  const empty = widget.querySelector(".desk-featured-empty");
  const choose = widget.querySelector("[data-featured-choose]");
  const remove = widget.querySelector("[data-featured-remove]");
  if (!choose) return;

  function show(item) {
    input.value = item ? item.id : "";
    figure.hidden = !item;
    empty.hidden = Boolean(item);
    remove.hidden = !item;
    choose.textContent = item ? "Replace…" : "Choose an image…";
    if (item) {
      img.src = item.thumbnail || item.url;
      img.alt = item.alt_text || "";
      caption.textContent = item.title;
    }
  }

  choose.addEventListener("click", async () => {
    const choice = await openChooser({
      chooserUrl: widget.dataset.chooserUrl,
      uploadUrl: widget.dataset.uploadUrl,
      title: "Featured image",
      askAlt: false,
    });
    if (choice) show(choice.item);
    choose.focus();
  });
  remove.addEventListener("click", () => {
    show(null);
    choose.focus();
  });
}

document.querySelectorAll("[data-featured-image]").forEach(setUp);
