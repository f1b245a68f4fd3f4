// The page shown without a session: a form for the token. No script (the CSP allows none inline).
export function loginPage(base: string, problem?: string): string {
  const action = `${base}/login`.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>celeriac dashboard: log in</title><link rel="stylesheet" href="${base}/assets/style.css"></head>
<body><main class="login"><h1>celeriac dashboard</h1>
<p>Log in with the token <code>celeriac dashboard</code> printed when it started (or the one you gave it).</p>
${problem ? `<p class="problem" role="alert">${problem}</p>` : ''}
<form method="post" action="${action}"><label for="token">Token</label>
<input id="token" name="token" type="password" autocomplete="current-password" required>
<button type="submit">Log in</button></form></main></body></html>`;
}
