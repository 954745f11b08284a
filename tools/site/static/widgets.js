// Loads the widget renderer only when a saved widget comes near the screen, so the text paints first and a
// reader who never scrolls to a widget never downloads it. The script tag carries data-root (the path to
// the site's root) and data-state (the page's saved widget state, a JSON file). html-manager (embed-amd.js)
// needs require.js first and renders every saved widget view of the page once it runs; it reads
// data-jupyter-widgets-cdn from a script tag of the page.
(function () {
  var me = document.currentScript;
  var root = me.getAttribute('data-root');
  var state = me.getAttribute('data-state');
  var views = document.querySelectorAll('script[type="application/vnd.jupyter.widget-view+json"]');
  if (!views.length) return;
  var started = false;

  function add(src, attrs, onload) {
    var s = document.createElement('script');
    Object.keys(attrs).forEach(function (k) { s.setAttribute(k, attrs[k]); });
    s.src = src;
    s.onload = onload || null;
    document.head.appendChild(s);
  }

  function renderer() {
    add(root + 'static/require.js', {}, function () {
      add(root + 'static/html-manager/embed-amd.js',
          {'data-jupyter-widgets-cdn': root + 'static/npm/', 'data-jupyter-widgets-cdn-only': ''});
    });
  }

  function load() {
    if (started) return;
    started = true;
    if (observer) observer.disconnect();
    if (!state) { renderer(); return; }
    // the saved state sits in a file (data-state) so the page's HTML stays small; html-manager reads it
    // from a <script type="application/vnd.jupyter.widget-state+json"> of the page, as nbconvert writes it
    fetch(state).then(function (r) { return r.text(); }).then(function (text) {
      var s = document.createElement('script');
      s.type = 'application/vnd.jupyter.widget-state+json';
      s.textContent = text;
      document.body.appendChild(s);
      renderer();
    });
  }

  var observer = null;
  if (!('IntersectionObserver' in window)) { load(); return; }
  observer = new IntersectionObserver(function (entries) {
    if (entries.some(function (e) { return e.isIntersecting; })) load();
  }, {rootMargin: '800px 0px'});
  views.forEach(function (v) { observer.observe(v.parentElement); });
  // a reader who jumps to a widget by a link or the keyboard gets it at once as well
  window.addEventListener('hashchange', load, {once: true});
})();
