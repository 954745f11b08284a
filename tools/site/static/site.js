// The site's own behaviour on every page (tools/build_site.py): the contents open beside the text on wide
// screens, wide code scrolls by keyboard too, and the search box asks Pagefind's offline index.
(function () {
  var me = document.currentScript;
  var root = me.getAttribute('data-root');

  // wide screens show the contents as a sidebar; phones keep it folded above the text (an inline script
  // right after the contents opened it before the first paint; this follows a window that is resized)
  var toc = document.querySelector('.pk-toc details');
  var wide = window.matchMedia('(min-width: 1100px)');
  wide.addEventListener('change', function () { if (toc) toc.open = wide.matches; });

  // a block of code or output wider than the screen scrolls sideways: make it reachable by keyboard
  function markScrollable() {
    document.querySelectorAll('main pre, main .jp-OutputArea-output, .pk-table-wrap').forEach(function (el) {
      if (el.scrollWidth > el.clientWidth + 1) {
        if (!el.hasAttribute('tabindex')) el.setAttribute('tabindex', '0');
      } else if (el.getAttribute('tabindex') === '0') {
        el.removeAttribute('tabindex');
      }
    });
  }
  var later = window.requestIdleCallback || function (f) { return setTimeout(f, 200); };
  later(markScrollable);  // it measures every block: not while the page is first drawn
  window.addEventListener('resize', function () { later(markScrollable); });

  // search: Pagefind (static/pagefind/) is loaded the first time the reader uses the box
  var input = document.getElementById('pk-search-input');
  var list = document.getElementById('pk-search-results');
  var status = document.getElementById('pk-search-status');
  if (!input) return;
  var pagefind = null;
  var asked = 0;

  function engine() {
    if (!pagefind) {
      pagefind = import(new URL(root + 'static/pagefind/pagefind.js', document.baseURI).href).then(function (pf) {
        return pf.options({baseUrl: '/'}).then(function () { return pf; });
      });
    }
    return pagefind;
  }

  function show(results, query) {
    list.textContent = '';
    results.forEach(function (r) {
      var li = document.createElement('li');
      var a = document.createElement('a');
      a.href = root + (r.url.replace(/^\//, '') || 'index.html');
      a.textContent = r.meta && r.meta.title ? r.meta.title : r.url;
      var p = document.createElement('p');
      p.innerHTML = r.excerpt;  // Pagefind escapes the page text and marks the hits with <mark>
      li.appendChild(a);
      li.appendChild(p);
      list.appendChild(li);
    });
    list.hidden = results.length === 0;
    status.textContent = query ? results.length + ' 个结果 / results for “' + query + '”' : '';
  }

  function search() {
    var query = input.value.trim();
    var mine = ++asked;
    if (!query) { show([], ''); return; }
    engine().then(function (pf) { return pf.search(query); }).then(function (found) {
      return Promise.all(found.results.slice(0, 8).map(function (r) { return r.data(); }));
    }).then(function (results) {
      if (mine === asked) show(results, query);
    });
  }

  input.addEventListener('focus', engine, {once: true});
  input.addEventListener('input', search);
  input.form.addEventListener('submit', function (e) { e.preventDefault(); search(); });
  input.addEventListener('keydown', function (e) {
    if (e.key === 'Escape') { input.value = ''; show([], ''); }
  });
})();
