#include <stdio.h>
#include <stdlib.h>
int main(int argc, char **argv)
{
	printf("hello from %s\n", argc > 1 ? argv[1] : "musl");
	return argc > 2 ? atoi(argv[2]) : 0;
}
