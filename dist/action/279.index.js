export const id = 279;
export const ids = [279];
export const modules = {

/***/ 9279:
/***/ ((__unused_webpack_module, __webpack_exports__, __webpack_require__) => {

/* harmony export */ __webpack_require__.d(__webpack_exports__, {
/* harmony export */   S3Storage: () => (/* binding */ S3Storage)
/* harmony export */ });
/* harmony import */ var _errors_js__WEBPACK_IMPORTED_MODULE_0__ = __webpack_require__(3916);
// Placeholder until the S3 adapter lands (issue: S3-compatible storage).

class S3Storage {
    static fromUrl(url, _options) {
        throw new _errors_js__WEBPACK_IMPORTED_MODULE_0__/* .UsageError */ .eb(`S3 storage (${url}) is not available in this build yet.`, { input: 'storage', hint: 'Use a local folder for now.' });
    }
}


/***/ })

};
