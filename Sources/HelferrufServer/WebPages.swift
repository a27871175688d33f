import Foundation
import Hummingbird

/// Serves the web pages: `/` (volunteer tab), `/console`, `/dashboard`, and every file in
/// the web folder at its own path.
struct WebPages {
    let directory: String

    func register(on router: Router<AppRequestContext>) {
        let root = URL(fileURLWithPath: directory).standardizedFileURL.path
        router.add(middleware: FileMiddleware(root, searchForIndexHtml: false))
        for (path, file) in [("/", "volunteer.html"), ("/console", "console.html"), ("/dashboard", "dashboard.html")] {
            router.on(RouterPath(path), method: .head) { _, _ in
                guard FileManager.default.fileExists(atPath: root + "/" + file) else { throw APIError.notFound }
                return Response(status: .ok, headers: [.contentType: "text/html; charset=utf-8"])
            }
            router.get(RouterPath(path)) { _, _ in
                guard let data = FileManager.default.contents(atPath: root + "/" + file) else { throw APIError.notFound }
                return Response(
                    status: .ok, headers: [.contentType: "text/html; charset=utf-8"],
                    body: .init(byteBuffer: ByteBuffer(bytes: data)))
            }
        }
    }
}
