// Requests from the admin's pages to the admin's JSON endpoints, with Django's CSRF token.

export function csrfToken() {
  const field = document.querySelector("input[name=csrfmiddlewaretoken]");
  if (field) return field.value;
  const cookie = document.cookie.split("; ").find((c) => c.startsWith("csrftoken="));
  return cookie ? decodeURIComponent(cookie.split("=")[1]) : "";
}

async function answer(response) {
  let data = null;
  try {
    data = await response.json();
  } catch {
    // Not JSON: a proxy's error page, a login page after the session ended.
  }
  if (!response.ok) {
    const message = data && data.error ? data.error : `The server answered ${response.status}.`;
    throw new Error(message);
  }
  return data;
}

export async function postForm(url, fields, { signal, keepalive = false } = {}) {
  const body = fields instanceof FormData ? fields : new FormData();
  if (!(fields instanceof FormData)) {
    for (const [name, value] of Object.entries(fields)) body.append(name, value);
  }
  const response = await fetch(url, {
    method: "POST",
    body,
    signal,
    keepalive, // a request that outlives a closing tab
    credentials: "same-origin",
    headers: { "X-CSRFToken": csrfToken(), Accept: "application/json" },
  });
  return answer(response);
}

export async function getJSON(url, params = {}, { signal } = {}) {
  const query = new URLSearchParams(params);
  const response = await fetch(`${url}?${query}`, {
    signal,
    credentials: "same-origin",
    headers: { Accept: "application/json" },
  });
  return answer(response);
}

// The media library's JSON upload (media_library/admin.py): answers the item.
export function uploadFile(url, file, { altText = "" } = {}) {
  const body = new FormData();
  body.append("file", file);
  if (altText) body.append("alt_text", altText);
  return postForm(url, body);
}

export function markdownImage(alt, id) {
  const escaped = String(alt).replace(/[\\[\]]/g, (c) => `\\${c}`);
  return `![${escaped}](media:${id})`;
}
