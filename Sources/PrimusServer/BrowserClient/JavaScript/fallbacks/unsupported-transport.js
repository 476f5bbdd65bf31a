function unsupported() {
  // The transport client for a transformer that has no transports/<name>.js: it fails loudly at
  // the first connection instead of speaking the wrong protocol. The server writes the
  // transformer's name, as a string literal, over the placeholder below.
  var primus = this;
  primus.on('outgoing::open', function opening() {
    primus.emit('incoming::error', new Error('the ' + $$transformer$$ + ' transformer has no browser client in this build'));
  });
}
