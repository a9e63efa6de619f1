# Lists C functions longer than MAX lines (default 100): "FILE:LINE NAME LINES", one a line.
# The code's style (kernel style) puts a function's opening and closing braces alone in column
# 0; the name is the identifier before "(" on the lines of its declarator above the brace.
# usage: awk [-v MAX=100] -f long-functions.awk FILE.c...
BEGIN { if (MAX == "") MAX = 100 }
FNR == 1 { decl = ""; inside = 0 }
!inside && /^[A-Za-z_]/ && !/;[ \t]*$/ { decl = $0; declline = FNR; next }
!inside && /^[ \t]/ && decl != "" { decl = decl " " $0; next }
!inside && /^\{/ && decl != "" {
	name = decl
	sub(/\(.*/, "", name)
	n = split(name, w, /[ \t*]+/)
	name = w[n]
	inside = 1; start = FNR; next
}
!inside { decl = "" }
inside && /^\}/ {
	len = FNR - start - 1
	if (len > MAX) printf "%s:%d %s %d\n", FILENAME, declline, name, len
	inside = 0; decl = ""
}
