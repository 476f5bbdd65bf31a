// PrimusVapor: Primus mounted on a Vapor 4 application (the `Vapor` trait).
