// "Publish immediately / Schedule for …": the date and time show only when scheduling.

const radios = [...document.querySelectorAll("input[name=publish_when]")];
const row = document.querySelector(".field-published_at");

function sync() {
  const picked = radios.find((r) => r.checked);
  if (row) row.hidden = !picked || picked.value === "now";
}

if (radios.length && row) {
  radios.forEach((r) => r.addEventListener("change", sync));
  sync();
}
