// PrimusHummingbird: Primus mounted on a Hummingbird 2 application (the `Hummingbird` trait).
