// The json parser's browser codec: Primus's parser shape, one expression evaluating to
// { encoder, decoder }, each calling fn(err, result) once, synchronously, with `this` = the client.
// A string that is not JSON is an error; a value that is not a string (a binary frame) passes
// through undecoded, and bytes written (an ArrayBuffer, a typed array or a DataView) go out as
// they are, a binary frame, where JSON.stringify would have mangled them.
({
  encoder: function encoder(data, fn) {
    var err, packet;
    if (typeof ArrayBuffer !== 'undefined' &&
        (data instanceof ArrayBuffer || (ArrayBuffer.isView && ArrayBuffer.isView(data)))) {
      return fn(err, data);
    }
    try {
      packet = JSON.stringify(data);
      if (packet === undefined) err = new Error('JSON cannot encode ' + typeof data);
    } catch (e) {
      err = e;
    }
    fn(err, packet);
  },

  decoder: function decoder(data, fn) {
    var err, value = data;
    if (typeof data !== 'string') return fn(err, data);
    try {
      value = JSON.parse(data);
    } catch (e) {
      err = e;
    }
    fn(err, value);
  }
})
