// The codec for a parser that has neither a javaScriptCodec nor a parsers/<name>.js: every
// message fails with an error naming the parser. The server writes the parser's name, as a
// string literal, over the placeholders below.
({
  encoder: function unsupported(data, fn) {
    fn(new Error('the ' + $$parser$$ + ' parser has no browser implementation in this build'));
  },
  decoder: function unsupported(data, fn) {
    fn(new Error('the ' + $$parser$$ + ' parser has no browser implementation in this build'));
  }
})
