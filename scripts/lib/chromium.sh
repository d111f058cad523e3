# shellcheck shell=bash
# Headless Chromium for the browser sign-in test (functions/browser_test.go),
# which drives it over the Chrome DevTools Protocol. Sourced by stack.sh,
# which defines log_step, die and apt_install.

# Install Debian's chromium and chromium-driver unless they are installed,
# and export BONDINGAI_CHROMIUM with the browser's path for the test.
# chromium-driver is not used by the test, but keeps chromium's version
# matched with a WebDriver for tools that want one.
ensure_chromium() {
  apt_install chromium chromium-driver
  local browser
  browser=$(command -v chromium) || die "chromium is installed but not on PATH"
  export BONDINGAI_CHROMIUM=$browser
  log_step "chromium: $browser"
}
