// Passkeys (指纹/人脸, WebAuthn) on the wallet and the cashier (docs/platform.md "Passkeys"):
// asks the platform for options (a one-time challenge), lets the device's authenticator answer
// after a fingerprint or face, and posts its answer in the page's form; the server checks all.
(function () {
  'use strict';
  function enc(buf) {
    var s = '', b = new Uint8Array(buf);
    for (var i = 0; i < b.length; i++) s += String.fromCharCode(b[i]);
    return btoa(s).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
  }
  function dec(s) {
    var b = atob(s.replace(/-/g, '+').replace(/_/g, '/'));
    var out = new Uint8Array(b.length);
    for (var i = 0; i < b.length; i++) out[i] = b.charCodeAt(i);
    return out.buffer;
  }
  function fail(form, e) {
    var p = form.querySelector('#passkey-error');
    p.textContent = e && e.message ? e.message : String(e);
    p.hidden = false;
  }
  function options(form) {
    return fetch(form.dataset.options, {
      method: 'POST', credentials: 'same-origin',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ csrf: form.elements.csrf.value }),
    }).then(function (r) {
      return r.json().then(function (j) {
        if (!r.ok) throw new Error(j.error ? j.error.message : r.status);
        return j;
      });
    });
  }
  function creds(list) {
    return (list || []).map(function (c) { return { type: c.type, id: dec(c.id) }; });
  }
  function register(form) {
    options(form).then(function (o) {
      form.elements.challenge.value = o.challenge;
      o.challenge = dec(o.challenge);
      o.user.id = dec(o.user.id);
      o.excludeCredentials = creds(o.excludeCredentials);
      return navigator.credentials.create({ publicKey: o });
    }).then(function (c) {
      form.elements.id.value = enc(c.rawId);
      form.elements.client_data.value = enc(c.response.clientDataJSON);
      form.elements.attestation.value = enc(c.response.attestationObject);
      form.submit();
    }).catch(function (e) { fail(form, e); });
  }
  function pay(form) {
    options(form).then(function (o) {
      form.elements.challenge.value = o.challenge;
      o.challenge = dec(o.challenge);
      o.allowCredentials = creds(o.allowCredentials);
      return navigator.credentials.get({ publicKey: o });
    }).then(function (c) {
      form.elements.id.value = enc(c.rawId);
      form.elements.client_data.value = enc(c.response.clientDataJSON);
      form.elements.authenticator_data.value = enc(c.response.authenticatorData);
      form.elements.signature.value = enc(c.response.signature);
      form.submit();
    }).catch(function (e) { fail(form, e); });
  }
  var r = document.getElementById('passkey-register');
  if (r) r.addEventListener('click', function () { register(r.form); });
  var p = document.getElementById('pay-passkey');
  if (p) p.addEventListener('click', function () { pay(p.form); });
})();
